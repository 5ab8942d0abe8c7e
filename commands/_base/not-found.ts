// oclif's command_not_found hook: an unknown command is one line in the tool's own error format, with the
// closest command when there is one, and exit 2 (usage error) like every other usage error.
import type {Hook} from '@oclif/core';

import {terminalSafe} from '../../src/output/terminal.js';
import {closestMatch} from '../../src/util/closest.js';

const hook: Hook.CommandNotFound = async function (options) {
  const commands = options.config.commandIDs.map((id) => id.replaceAll(':', ' '));
  const typed = options.id.replaceAll(':', ' ');
  const suggestion = closestMatch(typed, commands);
  const hint = suggestion === undefined ? 'see `daemoneye --help`' : `did you mean \`daemoneye ${suggestion}\`? see \`daemoneye --help\``;
  process.stderr.write(`daemoneye: error: unknown command "${terminalSafe(typed)}" (${hint})\n`);
  this.exit(2);
};

export default hook;
