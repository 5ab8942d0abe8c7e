// Start-up cost of the CLI against bare Node, measured in the same run.
import {BIN, report, timeCommand} from './lib.js';

export function run(): void {
  const node = timeCommand('node -e 0', process.execPath, ['-e', '0'], {runs: 10});
  const version = timeCommand('daemoneye --version', process.execPath, [BIN, '--version'], {runs: 10});
  const configShow = timeCommand('daemoneye config show --format json', process.execPath, [BIN, 'config', 'show', '--format', 'json'], {runs: 10});
  report('start-up', [node, version, configShow], node);
}
