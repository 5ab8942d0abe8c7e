#!/usr/bin/env node
// Production entry point of the npm install: the compiled commands in dist/, started from the static command
// index (commands/_base/main.ts), the same start-up as the single executable's.
import {COMMAND_INDEX} from '../dist/command-index.js';
import {main} from '../dist/commands/_base/main.js';

await main(process.argv.slice(2), COMMAND_INDEX);
