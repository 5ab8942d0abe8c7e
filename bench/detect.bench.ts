// Detection: 30 rules over a 10,000-process snapshot file. Whole `detect` runs (CLI) against bare Node
// start-up; per-rule query times in the sandbox workers against the same 30 queries in the sqlite3 CLI on
// the same file; worker start-up and snapshot loading on their own; the cost of one timed-out rule.
import {spawnSync} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {DetectionEngine, type QueryTask} from '../src/detection/engine.js';
import {snapshotFromRows} from '../src/detection/fixture-snapshot.js';
import {BIN, median, report, timeCommand} from './lib.js';

const NAMES = ['bash', 'sshd', 'nginx', 'postgres', 'node', 'python3', 'systemd', 'cron', 'containerd', 'java', 'sh', 'kworker/0:1', 'nc', 'curl'];

function rows(count: number): Record<string, unknown>[] {
  return Array.from({length: count}, (_, i) => {
    const name = NAMES[i % NAMES.length] as string;
    const kernel = name.startsWith('kworker');
    return {
      pid: i + 2,
      ppid: i < 20 ? 1 : 2 + (i % 500),
      name,
      ...(kernel ? {kernel_thread: true, executable_path: null} : {executable_path: i % 97 === 0 ? `/tmp/.x${i}/${name}` : `/usr/bin/${name}`}),
      command_line: kernel ? [] : [`/usr/bin/${name}`, '-c', i % 13 === 0 ? 'curl http://x | sh' : `--opt=${i}`],
      uid: i % 7 === 0 ? 0 : 1000,
      exe_deleted: i % 211 === 0,
      cpu_usage: (i % 100) / 3,
      memory_usage: (i % 1000) * 1024 * 1024,
      executable_hash: i % 3 === 0 ? i.toString(16).padStart(64, '0') : null,
      cwd: i % 5 === 0 ? '/tmp' : '/home/user',
      ld_preload: i % 1009 === 0 ? '/tmp/evil.so' : null,
    };
  });
}

/** 30 queries of the kinds the built-in pack uses: filters, LIKE, joins to the parent, aggregates, lists, json_each, regexp. */
const QUERIES: string[] = [
  "SELECT pid, name FROM processes WHERE executable_path LIKE '/tmp/%'",
  'SELECT pid, name FROM processes WHERE exe_deleted = 1 AND kernel_thread = 0',
  "SELECT pid, name FROM processes WHERE cmdline LIKE '%| sh%'",
  "SELECT pid, name FROM processes WHERE ld_preload IS NOT NULL AND ld_preload <> ''",
  "SELECT c.pid, c.name FROM processes c JOIN processes p ON p.pid = c.ppid WHERE c.name IN ('sh', 'bash') AND p.name IN ('nginx', 'postgres', 'java')",
  "SELECT pid, name FROM processes WHERE uid = 0 AND cwd = '/tmp'",
  'SELECT pid, name FROM processes WHERE cpu_usage > 30 AND memory_usage > 900 * 1024 * 1024',
  "SELECT pid, name FROM processes WHERE name IN ('nc', 'ncat', 'socat') AND uid <> 0",
  'SELECT pid, name FROM processes WHERE executable_hash IN (SELECT value FROM list_ioc_sha256)',
  "SELECT pid, name FROM processes WHERE name NOT IN (SELECT value FROM list_allowed_root) AND uid = 0 AND cwd = '/tmp'",
  "SELECT p.pid, p.name FROM processes p, json_each(p.command_line) a WHERE a.value = '-c' AND p.cmdline LIKE '%curl%'",
  "SELECT pid, name FROM processes WHERE regexp('^/tmp/\\.[a-z]', executable_path)",
  'SELECT ppid AS pid, count(*) AS children FROM processes GROUP BY ppid HAVING count(*) > 25',
  'SELECT pid, name FROM processes WHERE ppid NOT IN (SELECT pid FROM processes) AND ppid > 1',
  'SELECT pid, name FROM processes WHERE kernel_thread = 0 AND executable_path IS NULL',
  "SELECT pid, name FROM processes WHERE instr(cmdline, 'base64') > 0",
  "SELECT pid, name FROM processes WHERE name = 'curl' AND uid = 0",
  "SELECT c.pid, c.name FROM processes c JOIN processes p ON p.pid = c.ppid JOIN processes g ON g.pid = p.ppid WHERE c.name = 'sh' AND g.name = 'sshd'",
  'SELECT pid, name FROM processes WHERE tracer_pid <> 0',
  'SELECT pid, name FROM processes WHERE exe_memfd = 1',
  "SELECT pid, name FROM processes WHERE executable_path LIKE '/dev/shm/%' OR executable_path LIKE '/var/tmp/%'",
  "SELECT pid, name FROM processes WHERE name LIKE 'kworker%' AND kernel_thread = 0",
  'SELECT pid, name FROM processes WHERE start_time > collection_time',
  'SELECT pid, name FROM processes WHERE uid <> euid',
  'SELECT pid, name, lower(name) AS n FROM processes WHERE lower(name) <> name',
  "SELECT pid, name FROM processes WHERE container_id IS NOT NULL AND uid = 0 AND name = 'sh'",
  "SELECT pid, name FROM processes WHERE stdin LIKE 'socket:%' AND name IN ('sh', 'bash')",
  'SELECT pid, name FROM processes WHERE length(cmdline) > 4000',
  'SELECT pid, name FROM processes WHERE name IN (SELECT name FROM processes GROUP BY name HAVING count(*) = 1)',
  "SELECT pid, name FROM processes WHERE coalesce(ld_audit, '') <> '' OR exe_replaced = 1",
];

const SLOW = 'SELECT count(*) AS pid FROM processes a, processes b, processes c';

function writeRules(dir: string, extra: string[] = []): void {
  mkdirSync(join(dir, 'lists'), {recursive: true});
  writeFileSync(join(dir, 'lists', 'ioc_sha256.txt'), `${(99).toString(16).padStart(64, '0')}\n`);
  writeFileSync(join(dir, 'lists', 'allowed_root.txt'), 'systemd\ncron\n');
  [...QUERIES, ...extra].forEach((sql, i) => {
    writeFileSync(
      join(dir, `bench-${String(i).padStart(2, '0')}.yaml`),
      `id: bench-${i}\nname: Bench ${i}\nseverity: low\nsql_query: ${JSON.stringify(sql)}\n`,
    );
  });
}

/** The 30 queries in one sqlite3 process with `.timer on`: per-query real time, ms. */
function sqliteTimes(file: string): number[] {
  const script = ['CREATE TEMP TABLE list_ioc_sha256 (value TEXT);', `INSERT INTO list_ioc_sha256 VALUES ('${(99).toString(16).padStart(64, '0')}');`];
  script.push("CREATE TEMP TABLE list_allowed_root (value TEXT); INSERT INTO list_allowed_root VALUES ('systemd'), ('cron');", '.timer on');
  for (const sql of QUERIES) script.push(`${sql.replace("regexp('^/tmp/\\.[a-z]', executable_path)", "executable_path REGEXP '^/tmp/\\.[a-z]'")};`);
  const result = spawnSync('sqlite3', [file], {input: script.join('\n'), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
  if (result.status !== 0) throw new Error(`sqlite3: ${result.stderr}`);
  return [...result.stdout.matchAll(/Run Time: real ([0-9.]+)/g)].map((m) => Number(m[1]) * 1000);
}

async function engineTimes(bytes: Uint8Array, workers: number, extra: string[] = [], timeoutMs = 30_000): Promise<{perQuery: number[]; wallMs: number}> {
  const engine = new DetectionEngine({workers}).start();
  const snapshot = {id: 'bench', bytes, lists: {ioc_sha256: [(99).toString(16).padStart(64, '0')], allowed_root: ['systemd', 'cron']}};
  // Warm: workers started and the snapshot loaded, so the figures below are query time only.
  await engine.runTasks(Array.from({length: workers}, () => ({key: 'warm', sql: 'SELECT 1 AS pid', timeoutMs, snapshot})));
  const tasks: QueryTask[] = [...QUERIES, ...extra].map((sql, i) => ({key: `q${i}`, sql, timeoutMs, snapshot}));
  const start = performance.now();
  const outcomes = await engine.runTasks(tasks);
  const wallMs = performance.now() - start;
  await engine.close();
  const failed = outcomes.filter((o, i) => o.status !== 'ok' && i < QUERIES.length);
  if (failed.length > 0) throw new Error(`bench queries failed: ${failed.map((o) => `${o.key}: ${o.error ?? ''}`).join('; ')}`);
  return {perQuery: outcomes.slice(0, QUERIES.length).map((o) => o.elapsedMs), wallMs};
}

async function startupCosts(bytes: Uint8Array): Promise<{startMs: number; loadMs: number}> {
  const engine = new DetectionEngine({workers: 1});
  const snapshot = {id: 'start', bytes, lists: {}};
  let start = performance.now();
  engine.start();
  await engine.runTasks([{key: 'ready', sql: 'SELECT 1 AS pid', timeoutMs: 30_000, snapshot: {id: 'empty', bytes: await snapshotFromRows([]), lists: {}}}]);
  const startMs = performance.now() - start;
  start = performance.now();
  await engine.runTasks([{key: 'load', sql: 'SELECT 1 AS pid', timeoutMs: 30_000, snapshot}]);
  const loadMs = performance.now() - start;
  await engine.close();
  return {startMs, loadMs};
}

const line = (label: string, text: string): void => {
  process.stdout.write(`${label.padEnd(48)} ${text}\n`);
};

export async function run(): Promise<void> {
  const dir = join(tmpdir(), `daemoneye-bench-detect-${process.pid}`);
  mkdirSync(dir, {recursive: true});
  const file = join(dir, 'snapshot-10k.db');
  const bytes = await snapshotFromRows(rows(10_000));
  writeFileSync(file, bytes);
  const rulesDir = join(dir, 'rules');
  writeRules(rulesDir);
  const slowDir = join(dir, 'rules-with-slow');
  writeRules(slowDir, [SLOW]);
  const home = join(dir, 'home');
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, 'state'),
    DAEMONEYE_DETECTION__BUILTIN_RULES: 'false',
  };

  const node = timeCommand('node -e 0', process.execPath, ['-e', '0'], {runs: 5});
  const version = timeCommand('daemoneye --version', process.execPath, [BIN, '--version'], {runs: 5});
  const detect = timeCommand('detect: 30 rules, 10k processes', process.execPath, [BIN, 'detect', '--input', file, '--rules', rulesDir, '--format', 'ndjson'], {
    runs: 5,
    env,
  });
  const slowEnv = {...env, DAEMONEYE_DETECTION__RULE_TIMEOUT_MS: '500'};
  // The timed-out rule makes detect exit 3 by design; the shell turns that into 0 for timeCommand.
  const withSlow = timeCommand(
    'detect: 30 rules + 1 timed out at 500 ms',
    'sh',
    ['-c', `"${process.execPath}" "${BIN}" detect --input "${file}" --rules "${slowDir}" --format ndjson; test $? -eq 3`],
    {
      runs: 5,
      env: slowEnv,
    },
  );
  report('detect (CLI, whole run)', [node, version, detect, withSlow], detect);

  // One worker, like the one sqlite3 process: a fair per-query comparison; the pool's wall time separately.
  const ours = await engineTimes(bytes, 1);
  const pool = await engineTimes(bytes, 2);
  const theirs = sqliteTimes(file);
  const ratios = ours.perQuery.map((ms, i) => ms / Math.max(theirs[i] ?? 0, 0.001));
  process.stdout.write('\n## detect: per-rule query time (sandbox workers vs sqlite3 CLI, same file, same run)\n');
  line('sandbox per-rule median', `${median(ours.perQuery).toFixed(2)} ms (max ${Math.max(...ours.perQuery).toFixed(1)} ms)`);
  line('sqlite3 CLI per-query median', `${median(theirs).toFixed(2)} ms (max ${Math.max(...theirs).toFixed(1)} ms)`);
  line('ratio of medians', `${(median(ours.perQuery) / Math.max(median(theirs), 0.001)).toFixed(2)}×`);
  line('per-query ratio median / worst', `${median(ratios).toFixed(2)}× / ${Math.max(...ratios).toFixed(2)}× (query ${ratios.indexOf(Math.max(...ratios))})`);
  line('30 queries, 1 warm worker, wall', `${ours.wallMs.toFixed(1)} ms`);
  line('30 queries, 2 warm workers, wall', `${pool.wallMs.toFixed(1)} ms`);

  const costs = await startupCosts(bytes);
  const slow = await engineTimes(bytes, 2, [SLOW], 500);
  process.stdout.write('\n## detect: start-up and worker costs\n');
  line('worker start (thread + sql.js init)', `${costs.startMs.toFixed(1)} ms`);
  line('snapshot load into a worker (10k processes)', `${costs.loadMs.toFixed(1)} ms (${(bytes.length / 1048576).toFixed(1)} MiB)`);
  line('30 queries + 1 timed out (500 ms), 2 workers, wall', `${slow.wallMs.toFixed(1)} ms (+${(slow.wallMs - pool.wallMs).toFixed(1)} ms)`);
  line('per-rule median beside the timed-out rule', `${median(slow.perQuery).toFixed(2)} ms`);
}
