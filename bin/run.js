#!/usr/bin/env node
// Production entry point: runs the compiled commands in dist/.
import {execute} from '@oclif/core';

// `daemoneye scan | head` closes stdout early: that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

await execute({dir: import.meta.url});
