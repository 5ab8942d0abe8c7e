#!/usr/bin/env node
// Production entry point of the npm install: the compiled commands, started from the static command index
// (commands/_base/main.ts), the same start-up as the single executable's. From the bundled script with V8's code
// cache when `npm run build` wrote them (dist/daemoneye.cjs: commands/_base/bundle.ts), else from dist/'s modules.
import {loadBundle} from '../dist/commands/_base/bundle.js';

const argv = process.argv.slice(2);
const bundle = loadBundle();
if (bundle === undefined) {
  const [{COMMAND_INDEX}, {main}] = await Promise.all([import('../dist/command-index.js'), import('../dist/commands/_base/main.js')]);
  await main(argv, COMMAND_INDEX);
} else {
  await bundle.run(argv);
}
