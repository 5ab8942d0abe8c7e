// Run as an unprivileged user whose HOME is still root's (setpriv, sudo -u without -H): the tool must work
// (no oclif plugin warning, no refusal over a configuration file it cannot even see), and detect must say
// loudly how much of the host it could not see.
import {describe, expect, it} from 'vitest';

import {runCli, tempDir} from '../helpers/cli.js';

const isRoot = process.getuid?.() === 0;

function rootHomeEnv(state: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('DAEMONEYE_') && !key.startsWith('XDG_')) env[key] = value;
  // The state directory is given (the ledger must go somewhere writable); HOME stays /root.
  return {...env, HOME: '/root', DAEMONEYE_APP__STATE_DIR: state};
}

describe.skipIf(!isRoot)('unprivileged, HOME=/root', () => {
  it('config show works: no warning about ~/.local/share/daemoneye/package.json, no unreadable user configuration', async () => {
    const state = tempDir();
    const {chmodSync} = await import('node:fs');
    chmodSync(state, 0o777);
    const result = await runCli(['config', 'show', '--format', 'json'], {asUser: 65534, env: rootHomeEnv(state)});
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveProperty('app');
  });

  it('detect warns how many processes it could not fully read, and the JSON summary counts them', async () => {
    const state = tempDir();
    const {chmodSync} = await import('node:fs');
    chmodSync(state, 0o777);
    const result = await runCli(['detect', '--format', 'json', '--no-audit'], {asUser: 65534, env: rootHomeEnv(state)});
    expect(result.code).toBe(0);
    const summary = (JSON.parse(result.stdout) as {summary: {processes_scanned: number; processes_inaccessible: number}}).summary;
    expect(summary.processes_scanned).toBeGreaterThan(0);
    // Root's processes (pid 1 at least) are hidden from uid 65534.
    expect(summary.processes_inaccessible).toBeGreaterThan(0);
    // The first few are named (pid and name), pid 1 among them.
    expect(result.stderr).toMatch(
      new RegExp(`${summary.processes_inaccessible} of ${summary.processes_scanned} processes \\(1 [^,)]+[,)].*could not be fully read`),
    );
  });
});
