// `daemoneye scan` end to end: the built CLI against real processes this file spawns.
import {createHash} from 'node:crypto';
import {chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, unlinkSync, writeFileSync} from 'node:fs';
import {hostname} from 'node:os';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {type HostedProcessRecord, HostedProcessRecordSchema, LinuxPlatformDataSchema} from '../../src/models/process.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {LiveProcesses, SLEEP, waitForExe} from '../collect/live-processes.js';

const live = new LiveProcesses();
let home: string;
let env: NodeJS.ProcessEnv;
let sleepPid: number;
let shellPid: number;

beforeAll(async () => {
  home = tempDir('daemoneye-scan-');
  chmodSync(home, 0o777); // the unprivileged run writes its state under it
  env = isolatedEnv(home);
  const sleeper = live.spawn(SLEEP, ['1000']);
  sleepPid = sleeper.pid!;
  const shell = live.spawn('/bin/sh', ['-c', 'sleep 1000; :', 'sh', '--password', 'hunter2', 'https://bob:pa55@db.invalid/x', 'esc\u001b[31mred']);
  shellPid = shell.pid!;
  await waitForExe(sleepPid, (target) => target === realpathSync(SLEEP));
  await waitForExe(shellPid, (target) => !target.includes('node'));
});

afterAll(() => {
  live.killAll();
  removeDir(home);
});

const records = (stdout: string): HostedProcessRecord[] => parseNdjson(stdout).map((line) => HostedProcessRecordSchema.parse(line));

describe('daemoneye scan', () => {
  it('prints one NDJSON record per process when piped, complete and schema-valid', async () => {
    const result = await runCli(['scan', '--no-hash'], {env});
    expect(result.code).toBe(0);
    const all = records(result.stdout);
    expect(all.length).toBeGreaterThan(5);
    const sleeper = all.find((p) => p.pid === sleepPid);
    expect(sleeper?.command_line).toEqual([SLEEP, '1000']);
    expect(sleeper?.executable_path).toBe(realpathSync(SLEEP));
    for (const record of all) LinuxPlatformDataSchema.parse(record.platform_data);
    expect(new Set(all.map((p) => p.scan_id)).size).toBe(1);
    // Every record names its host: the machine id, hostname and boot id of this machine.
    const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
    for (const record of all) {
      expect(record.host?.id).toBe(machineId);
      expect(record.host?.hostname).toBe(hostname());
      expect(record.host?.boot_id).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    }
    expect(result.stderr).toBe('');
  });

  it('puts collection.decorations on every record and the host columns last in CSV', async () => {
    const decorated = {...env, DAEMONEYE_COLLECTION__DECORATIONS: '{"env": "prod", "team": "payments"}'};
    const result = await runCli(['scan', '--no-hash', '--pid', String(sleepPid)], {env: decorated});
    expect(result.code, result.stderr).toBe(0);
    expect(records(result.stdout)[0]?.host?.decorations).toEqual({env: 'prod', team: 'payments'});
    const csv = await runCli(['scan', '--no-hash', '--pid', String(sleepPid), '--format', 'csv'], {env});
    const [header, row] = csv.stdout.trim().split('\r\n');
    expect(header?.endsWith(',host_id,hostname')).toBe(true);
    expect(row?.endsWith(`,${readFileSync('/etc/machine-id', 'utf8').trim()},${hostname()}`)).toBe(true);
  });

  it('--pid selects processes; --format json is one array; hashes are SHA-256 of the file', async () => {
    const result = await runCli(['scan', '--pid', String(sleepPid), '--pid', String(shellPid), '--format', 'json'], {env});
    expect(result.code).toBe(0);
    const list = (JSON.parse(result.stdout) as unknown[]).map((r) => HostedProcessRecordSchema.parse(r));
    expect(list.map((p) => p.pid).sort()).toEqual([sleepPid, shellPid].sort());
    const sleeper = list.find((p) => p.pid === sleepPid)!;
    expect(sleeper.executable_hash).toBe(createHash('sha256').update(readFileSync(SLEEP)).digest('hex'));
    expect(sleeper.hash_algorithm).toBe('sha256');
  });

  it('redacts secrets by default; --no-redact and the config key turn it off', async () => {
    const redacted = records((await runCli(['scan', '--pid', String(shellPid), '--no-hash'], {env})).stdout)[0]!;
    expect(redacted.command_line.slice(3, 6)).toEqual(['sh', '--password', '[REDACTED]']);
    expect(redacted.command_line[6]).toBe('https://bob:[REDACTED]@db.invalid/x');
    const plain = records((await runCli(['scan', '--pid', String(shellPid), '--no-hash', '--no-redact'], {env})).stdout)[0]!;
    expect(plain.command_line.slice(5, 7)).toEqual(['hunter2', 'https://bob:pa55@db.invalid/x']);
    const config = join(home, 'no-redact.yaml');
    writeFileSync(config, 'collection:\n  redaction:\n    enabled: false\n');
    const viaConfig = records((await runCli(['scan', '--pid', String(shellPid), '--no-hash', '--config', config], {env})).stdout)[0]!;
    expect(viaConfig.command_line[5]).toBe('hunter2');
  });

  it('the table is terminal-safe and shows the columns; csv has the processes table columns', async () => {
    const table = await runCli(['scan', '--pid', String(shellPid), '--pid', String(sleepPid), '--no-hash', '--format', 'table'], {env});
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^\s*PID\s+USER\s+CPU%\s+MEM\s+NAME\s+COMMAND$/);
    expect(table.stdout).not.toContain('\u001b');
    expect(table.stdout).toContain('esc\\x1b[31mred');
    expect(table.stdout).not.toContain('hunter2');
    const csv = await runCli(['scan', '--pid', String(sleepPid), '--no-hash', '--format', 'csv'], {env});
    const [header, row] = csv.stdout.split('\r\n');
    expect(header).toMatch(/^id,scan_id,collection_time,pid,ppid,name,/);
    expect(header).toContain(',cmdline,');
    expect(row).toContain(`${SLEEP} 1000`);
  });

  it('on a terminal the default is the table, fitted to its width', async () => {
    // script(1) gives the CLI a real pseudo-terminal of 60 columns.
    const command = `stty cols 60; ${process.execPath} bin/run.js scan --pid ${shellPid} --no-hash`;
    const {spawnSync} = await import('node:child_process');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], {cwd: join(import.meta.dirname, '..', '..'), env, encoding: 'utf8'});
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\r\n').filter((line) => line !== '');
    expect(lines[0]).toMatch(/^\s*PID\s+USER\s+CPU%\s+MEM\s+NAME\s+COMMAND$/);
    expect(lines[1]).toContain('/bin/sh -c');
    expect(lines[1]).toMatch(/…$/);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(60);
  });

  it('finds a deleted binary the way `jq select(.file_exists == false)` would', async () => {
    const path = join(home, 'implant');
    copyFileSync(SLEEP, path);
    const child = live.spawn(path, ['1000']);
    await waitForExe(child.pid!, (target) => target.startsWith(path));
    unlinkSync(path);
    const all = records((await runCli(['scan'], {env})).stdout);
    const gone = all.filter((p) => !p.file_exists && p.executable_path !== null);
    const implant = gone.find((p) => p.pid === child.pid);
    expect(implant?.executable_path).toBe(path);
    expect(implant?.platform_data?.exe_deleted).toBe(true);
    expect(implant?.executable_hash).toBe(createHash('sha256').update(readFileSync(SLEEP)).digest('hex'));
  });

  it('a pid that does not exist: a warning, no records, exit 0; one no kernel can have: exit 2', async () => {
    // Below PID_MAX_LIMIT (4,194,304), so a possible pid; no process here has it.
    const result = await runCli(['scan', '--pid', '4194300'], {env});
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('no process with pid 4194300');
    expect((await runCli(['scan', '--pid', '999999999'], {env})).code).toBe(2);
  });

  it('--log-level debug reports the collector timings on stderr only', async () => {
    const result = await runCli(['scan', '--no-hash', '--log-level', 'debug', '--log-format', 'json'], {env});
    expect(result.code).toBe(0);
    const timing = result.stderr
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as {message: string; walk_ms?: number; processes?: number})
      .find((line) => line.message === 'scan timing');
    expect(timing?.walk_ms).toBeGreaterThan(0);
    expect(timing?.processes).toBe(parseNdjson(result.stdout).length);
  });

  it('run unprivileged, it scans root processes as accessible=false records instead of failing', async () => {
    const result = await runCli(['scan', '--no-hash'], {env, asUser: 65534});
    expect(result.code).toBe(0);
    const all = records(result.stdout);
    const init = all.find((p) => p.pid === 1);
    expect(init).toBeDefined();
    expect(init?.accessible).toBe(false);
    expect(init?.executable_path).toBeNull();
    // Its exe link cannot be read: whether the file is on disk is unknown, not false.
    expect(init?.file_exists).toBeNull();
    expect(init?.user_id).toBe('0');
    expect(init?.platform_data?.environ_readable).toBe(false);
    const sleeper = all.find((p) => p.pid === sleepPid);
    expect(sleeper?.command_line).toEqual([SLEEP, '1000']);
  });

  it('the systeminformation collector fills what it can', async () => {
    // kthreadd (pid 2) rides along: the kernel's threads are known as such (ps shows them as `[name]`, no argv),
    // or every rule about user processes would take them for one (kernel-thread-masquerade fired on each).
    const result = await runCli(['scan', '--collector', 'systeminformation', '--pid', String(sleepPid), '--pid', '2', '--format', 'json'], {env});
    expect(result.code).toBe(0);
    const records = (JSON.parse(result.stdout) as unknown[]).map((r) => HostedProcessRecordSchema.parse(r));
    const record = records.find((r) => r.pid === sleepPid);
    expect(record?.name).toBe('sleep');
    expect(record?.user_id).toBeNull();
    expect(record?.platform_data?.entity_id).toBeNull();
    expect(record?.platform_data?.kernel_thread).toBe(false);
    const kthreadd = records.find((r) => r.pid === 2);
    expect(kthreadd?.platform_data?.kernel_thread).toBe(true);
    expect(kthreadd?.command_line).toEqual([]);
    expect(kthreadd?.executable_path).toBeNull();
  });

  it('the systeminformation collector redacts secrets in its one parameter string', async () => {
    const child = live.spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)', '--', '--password', 'hunter2', '--token=abc123']);
    await waitForExe(child.pid!, (target) => target === realpathSync(process.execPath));
    const result = await runCli(['scan', '--collector', 'systeminformation', '--pid', String(child.pid), '--format', 'json'], {env});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('hunter2');
    expect(result.stdout).not.toContain('abc123');
    expect(result.stdout).toContain('--password [REDACTED]');
  });

  it('the systeminformation collector reports cpu_usage in the procfs unit (percent of one core since start), for a busy process', async () => {
    // A process that spins: about 100 (one core) since its start, less on a loaded machine, never a share of all cores since boot.
    const busy = live.spawn('/bin/sh', ['-c', 'while :; do :; done']);
    await waitForExe(busy.pid!, (target) => !target.includes('node'));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const cpuBy = async (collector: string): Promise<HostedProcessRecord | undefined> => {
      const result = await runCli(['scan', '--no-hash', '--collector', collector, '--pid', String(busy.pid), '--format', 'json'], {env});
      expect(result.code, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as unknown[]).map((r) => HostedProcessRecordSchema.parse(r)).find((r) => r.pid === busy.pid);
    };
    const procfs = (await cpuBy('procfs'))?.cpu_usage as number;
    const si = await cpuBy('systeminformation');
    const procfsAfter = (await cpuBy('procfs'))?.cpu_usage as number;
    const what = JSON.stringify({procfs, systeminformation: si?.cpu_usage, procfsAfter});
    // Busy for most of its life (the machine has 2 cores, shared): tens of percent at least; before, 0.0023.
    expect(procfs, what).toBeGreaterThan(20);
    // Read between two procfs readings of the same process: the same unit, the same figure within the drift of the interval.
    expect(si?.cpu_usage, what).toBeGreaterThanOrEqual(Math.min(procfs, procfsAfter) * 0.8);
    expect(si?.cpu_usage, what).toBeLessThanOrEqual(Math.max(procfs, procfsAfter) * 1.2);
    // Its command is /bin/sh, a file there: it exists.
    expect(si?.file_exists).toBe(true);
    busy.kill('SIGKILL');
  });

  it('the systeminformation collector says file_exists null for a command path it cannot check (a relative argv[0])', async () => {
    // argv[0] is the process's to choose: `relative/sleep` names no file this run can find, which proves nothing.
    const child = live.spawn(SLEEP, ['1000'], {argv0: 'relative/sleep'});
    await waitForExe(child.pid!, (target) => target === realpathSync(SLEEP));
    const result = await runCli(['scan', '--no-hash', '--collector', 'systeminformation', '--pid', String(child.pid), '--format', 'json'], {env});
    expect(result.code, result.stderr).toBe(0);
    const record = (JSON.parse(result.stdout) as unknown[]).map((r) => HostedProcessRecordSchema.parse(r)).find((r) => r.pid === child.pid);
    expect(record?.executable_path).toMatch(/^relative\/sleep/);
    expect(record?.file_exists).toBeNull();
    child.kill('SIGKILL');
  });

  it('tables the systeminformation collector cannot read: every advice names what collects them, and following it works', async () => {
    const si = join(home, 'si.db');
    const saved = await runCli(['scan', '--no-hash', '--collector', 'systeminformation', '--tables', 'listening_ports', '--output', si, '--format', 'json'], {
      env,
    });
    expect(saved.code, saved.stderr).toBe(0);
    const advice = '`scan --collector procfs --tables listening_ports` (or `--tables all`)';
    expect(saved.stderr).toContain(
      `the snapshot does not hold listening_ports: the systeminformation collector that took it reads processes only: on Linux, take it with ${advice}`,
    );
    // Every reader of the snapshot gives that advice (before: `scan --tables listening_ports`, which changes nothing).
    const query = await runCli(['query', 'SELECT count(*) AS n FROM listening_ports', '--input', si, '--format', 'json'], {env});
    expect(query.code).toBe(2);
    expect(query.stderr).toContain(advice);
    expect(query.stderr).not.toContain('live host');
    const exported = await runCli(['export', '--input', si, '--table', 'listening_ports'], {env});
    expect(exported.code).toBe(2);
    expect(exported.stderr).toContain(advice);
    const detect = await runCli(['detect', '--input', si, '--rule', 'beacon-from-odd-place', '--format', 'json'], {env});
    expect(detect.stderr).toContain('on Linux, take it with `scan --collector procfs --tables listening_ports,process_open_sockets`');
    const tested = await runCli(['rules', 'test', 'beacon-from-odd-place', '--input', si], {env});
    expect(tested.code).toBe(1);
    expect(tested.stderr).toContain('on Linux, take it with `scan --collector procfs --tables listening_ports,process_open_sockets`');
    // A live run with the collector configured: the configuration is what to change.
    const liveQuery = await runCli(['query', 'SELECT count(*) AS n FROM listening_ports', '--format', 'json'], {
      env: {...env, DAEMONEYE_COLLECTION__COLLECTOR: 'systeminformation'},
    });
    expect(liveQuery.code).toBe(2);
    expect(liveQuery.stderr).toContain('on Linux, set collection.collector to procfs or auto (DAEMONEYE_COLLECTION__COLLECTOR=procfs)');
    // The advice followed: the table is there and the query answers.
    const procfs = join(home, 'procfs.db');
    expect(
      (await runCli(['scan', '--no-hash', '--collector', 'procfs', '--tables', 'listening_ports', '--output', procfs, '--format', 'json'], {env})).code,
    ).toBe(0);
    const answered = await runCli(['query', 'SELECT count(*) AS n FROM listening_ports', '--input', procfs, '--format', 'json'], {env});
    expect(answered.code, answered.stderr).toBe(0);
  }, 180_000); // ten CLI runs, two of them scans: a minute on a loaded machine

  it.each([
    [['--pid', '-1'], /pid/i],
    [['--pid', 'abc'], /pid/i],
    [['--hash-max-bytes', '0'], /hash-max-bytes/],
    [['--cpu-sample', '999999'], /cpu-sample/],
    [['--format', 'xml'], /format/],
    [['--collector', 'kernel'], /collector/],
    [['--bogus'], /bogus/],
  ])('bad flags %j exit 2 with one line', async (args, message) => {
    const result = await runCli(['scan', ...args], {env});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });

  it('reuses executable digests from the hash cache; a corrupt cache is one warning and rebuilt; an unwritable one loses nothing', async () => {
    const state = join(home, 'hash-cache-state');
    const cacheEnv = {...env, DAEMONEYE_APP__STATE_DIR: state};
    const scanSleeper = async (
      args: string[] = [],
      extra: NodeJS.ProcessEnv = {},
      asUser?: number,
      pid = sleepPid,
    ): Promise<{code: number; record: HostedProcessRecord | undefined; timing: Record<string, unknown>; stderr: string}> => {
      const result = await runCli(['scan', '--pid', String(pid), '--verbose', '--log-format', 'json', ...args], {
        env: {...cacheEnv, ...extra},
        ...(asUser === undefined ? {} : {asUser}),
      });
      const lines = result.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      return {code: result.code, record: records(result.stdout)[0], timing: lines.find((l) => l.message === 'scan timing') ?? {}, stderr: result.stderr};
    };
    const digest = createHash('sha256').update(readFileSync(SLEEP)).digest('hex');
    const first = await scanSleeper();
    expect(first.record?.executable_hash).toBe(digest);
    expect(first.timing).toMatchObject({hashed_files: 1, hash_cache_hits: 0, hash_cache_problem: null});
    const cacheFile = join(state, 'hash-cache.json');
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    const second = await scanSleeper();
    expect(second.record?.executable_hash).toBe(digest);
    expect(second.timing).toMatchObject({hashed_files: 0, hashed_bytes: 0, hash_cache_hits: 1});
    // --no-hash-cache (and collection.hash_cache: false) reads the file again.
    expect((await scanSleeper(['--no-hash-cache'])).timing).toMatchObject({hashed_files: 1, hash_cache_hits: 0});
    expect((await scanSleeper([], {DAEMONEYE_COLLECTION__HASH_CACHE: 'false'})).timing).toMatchObject({hashed_files: 1, hash_cache_hits: 0});

    writeFileSync(cacheFile, '{"format": 1, "entries": {"1:2": ');
    const corrupt = await scanSleeper();
    expect(corrupt.code).toBe(0);
    expect(corrupt.record?.executable_hash).toBe(digest);
    expect(corrupt.stderr).toContain(`the hash cache ${cacheFile} is unusable`);
    expect((await scanSleeper()).timing).toMatchObject({hash_cache_hits: 1, hash_cache_problem: null});

    // Unprivileged, with a state directory it cannot write: the scan is complete, the warning says what to do.
    const nobodysSleeper = live.spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', SLEEP, '1000']).pid!;
    await waitForExe(nobodysSleeper, (target) => target === realpathSync(SLEEP));
    const readOnly = join(home, 'read-only-state');
    mkdirSync(readOnly, {mode: 0o755});
    const denied = await scanSleeper([], {DAEMONEYE_APP__STATE_DIR: readOnly, DAEMONEYE_AUDIT__ENABLED: 'false'}, 65534, nobodysSleeper);
    expect(denied.code).toBe(0);
    expect(denied.record?.executable_hash).toBe(digest);
    expect(denied.stderr).toMatch(/the hash cache was not saved .*set collection\.hash_cache: false/);
    expect(readdirSync(readOnly)).toEqual([]);
  });

  it('three scans saving the hash cache at once leave one whole cache and no temp files', async () => {
    const state = join(home, 'concurrent-cache-state');
    const cacheEnv = {...env, DAEMONEYE_APP__STATE_DIR: state};
    const runs = await Promise.all([1, 2, 3].map(() => runCli(['scan', '--format', 'ndjson'], {env: cacheEnv})));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const cache = JSON.parse(readFileSync(join(state, 'hash-cache.json'), 'utf8')) as {format: number; entries: Record<string, {sha256: string}>};
    expect(cache.format).toBe(1);
    expect(Object.keys(cache.entries).length).toBeGreaterThan(0);
    expect(readdirSync(state).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    const digest = createHash('sha256').update(readFileSync(SLEEP)).digest('hex');
    expect(Object.values(cache.entries).map((e) => e.sha256)).toContain(digest);
  });

  it('an invalid collection setting in the environment exits 2 naming the key', async () => {
    const result = await runCli(['scan'], {env: {...env, DAEMONEYE_COLLECTION__HASH_MAX_BYTES: '-5'}});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('collection.hash_max_bytes');
  });
});
