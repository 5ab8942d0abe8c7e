#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/.
import {dirname} from 'node:path';
import {fileURLToPath} from 'node:url';

import {execute, settings} from '@oclif/core';

// `daemoneye scan | head` closes stdout early: that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// dist/ only: never look for TypeScript sources (oclif does when NODE_ENV is test or development, and warns).
settings.enableAutoTranspile = false;
// No user-installed oclif plugins: DaemonEye has none, and looking for them reads
// ~/.local/share/daemoneye/package.json, which warns when HOME is not readable (e.g. under setpriv).
// Global flags may come before the command (`daemoneye --config x.yaml detect`), as git and kubectl take them.
let args = process.argv.slice(2);
if (args[0]?.startsWith('--') && args[0] !== '--help' && args[0] !== '--version') {
  const [{hoistGlobalFlags}, {DaemonEyeCommand}] = await Promise.all([
    import('../dist/commands/_base/global-flags.js'),
    import('../dist/commands/_base/base-command.js'),
  ]);
  args = hoistGlobalFlags(args, DaemonEyeCommand.baseFlags);
}
await execute({args, loadOptions: {root: dirname(dirname(fileURLToPath(import.meta.url))), userPlugins: false}});
