#!/usr/bin/env -S node --import tsx
// Development entry point: runs the TypeScript sources directly (no build of dist/ needed), started as the npm
// install and the single executable start (commands/_base/main.ts), from the same command index, here made in
// memory to import the sources (scripts/command-index.ts).
import {main} from '../commands/_base/main.ts';
import {sourceCommandIndex} from '../scripts/command-index.ts';

await main(process.argv.slice(2), sourceCommandIndex());
