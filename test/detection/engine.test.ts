import {openSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {
  DetectionEngine,
  ESCALATION_SHARE,
  firstPassBudget,
  type LaneProgress,
  lanesNeeded,
  PROJECTION_SAMPLE_SHARE,
  PROJECTION_SAMPLE_TASKS,
  MIN_FIRST_PASS_MS,
  type QueryTask,
  RESTARTS_PER_SHARE,
  SNAPSHOT_BYTES_PER_EXTRA_WORKER,
  type SnapshotPayload,
  workersForSnapshot,
} from '../../src/detection/engine.js';
import {runWithin} from '../../src/detection/in-process-lane.js';
import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import type {LoadedRule} from '../../src/detection/rule-manager.js';
import {runRulesOnSnapshot} from '../../src/detection/rules-on-snapshot.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {changedPage, closeFilePages, type FilePages, hashFilePages} from '../../src/storage/file-pages.js';
import {inSharedMemory} from '../../src/storage/shared-bytes.js';
import {snapshotBuild} from '../../src/storage/snapshot-file.js';
import {runWhole} from '../../src/util/steps.js';
import {removeDir, tempDir} from '../helpers/cli.js';
import {makeProcesses, makeScan} from '../storage/helpers/snapshots.js';

const engines: DetectionEngine[] = [];
afterAll(async () => Promise.all(engines.map((e) => e.close())));
const dir = tempDir();
afterAll(() => removeDir(dir));

/** An engine that runs every snapshot in workers (`inProcess`: the default, small snapshots on this thread). */
function engine(workers: number, maxRows?: number, inProcess = false): DetectionEngine {
  const created = new DetectionEngine({workers, ...(maxRows === undefined ? {} : {maxRows}), ...(inProcess ? {} : {inProcessBelowBytes: 0})});
  engines.push(created);
  return created;
}

async function payload(rows: Record<string, unknown>[], lists: Record<string, string[]> = {}): Promise<SnapshotPayload> {
  return {id: `t-${Math.random()}`, bytes: await snapshotFromRows(rows), lists};
}

function rule(id: string, sql: string, extra: Partial<LoadedRule['definition']> = {}): LoadedRule {
  const definition = {
    id,
    name: id,
    description: null,
    version: 1,
    severity: 'high' as const,
    category: null,
    tags: [],
    author: null,
    enabled: true,
    sql_query: sql,
    references: [],
    false_positives: [],
    tests: [],
    file: `${id}.yaml`,
    format: 'daemoneye' as const,
    ...extra,
  };
  return {
    definition,
    rule: {...definition, created_at: 0, updated_at: 0, source_type: 'file', source_path: definition.file},
  };
}

const ENDLESS_CTE = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS pid FROM c';
const CARTESIAN = 'SELECT count(*) AS pid FROM processes a, processes b, processes c, processes d, processes e, processes f, processes g';
// Exponential on a backtracking engine; linear on the rule workers' (RE2).
const BACKTRACKING = "SELECT pid FROM processes WHERE regexp('^(a+)+$', name)";

describe('DetectionEngine', () => {
  it('kills runaway rules at their timeout while the other rules still produce alerts', async () => {
    const rows = [...Array.from({length: 40}, (_, i) => ({pid: 100 + i, name: `${'a'.repeat(28)}!`})), {pid: 7, executable_path: '/tmp/evil'}];
    const validator = new SqlValidator();
    for (const sql of [ENDLESS_CTE, CARTESIAN, BACKTRACKING]) expect(validator.validateQuery(sql)).toEqual({valid: true});
    const e = engine(2);
    const run = await runRulesOnSnapshot({
      engine: e,
      validator,
      rules: [
        rule('endless-cte', ENDLESS_CTE),
        rule('cartesian', CARTESIAN),
        rule('backtracking-regexp', BACKTRACKING),
        rule('exec-from-tmp', "SELECT pid, name FROM processes WHERE executable_path LIKE '/tmp/%'"),
        rule('fast-override', 'SELECT pid, name FROM processes WHERE pid = 7', {timeout_ms: 5000}),
      ],
      lists: {},
      snapshot: await snapshotFromRows(rows),
      config: {scanId: 1, timeout: 60_000, ruleTimeoutMs: 700, keyFields: ['rule_id', 'process_name']},
    });
    const byId = Object.fromEntries(run.results.map((r) => [r.rule_id, r]));
    expect(byId['endless-cte']?.status).toBe('timeout');
    expect(byId['cartesian']?.status).toBe('timeout');
    expect(byId['backtracking-regexp']).toMatchObject({status: 'ok', row_count: 0});
    expect(byId['endless-cte']?.error).toMatch(/killed after 700 ms/);
    expect(byId['exec-from-tmp']?.status).toBe('ok');
    expect(run.alerts.map((a) => a.rule_id).sort()).toEqual(['exec-from-tmp', 'fast-override']);
    expect([...run.summary.timed_out].sort()).toEqual(['cartesian', 'endless-cte']);
    // A small snapshot runs on one worker (workersForSnapshot); each of the two timeouts replaced it.
    expect(e.workersStarted).toBe(3);
  });

  it('starts one worker for a small snapshot and more, up to its limit, for a big one', async () => {
    expect(workersForSnapshot(600 * 1024)).toBe(1);
    expect(workersForSnapshot(SNAPSHOT_BYTES_PER_EXTRA_WORKER)).toBe(2);
    expect(workersForSnapshot(11 * 1024 * 1024)).toBe(3);
    const snapshot = await payload([{pid: 1}, {pid: 2}]);
    const tasks: QueryTask[] = Array.from({length: 6}, (_, i) => ({key: `q${i}`, sql: 'SELECT pid FROM processes', timeoutMs: 10_000, snapshot}));
    const small = engine(3);
    expect((await small.runTasks(tasks, {workers: 1})).every((o) => o.status === 'ok' && o.rows.length === 2)).toBe(true);
    expect(small.workersStarted).toBe(1);
    // Two workers read one shared copy of the bytes, each with its named lists, and neither writes to them.
    const shared = inSharedMemory(
      await snapshotFromRows([
        {pid: 1, name: 'nginx'},
        {pid: 2, name: 'sh'},
      ]),
    );
    const listed: SnapshotPayload = {id: `shared-${Math.random()}`, bytes: shared, lists: {shells: ['sh']}};
    const before = Buffer.from(shared);
    const inList = 'SELECT pid FROM processes WHERE name IN (SELECT value FROM list_shells)';
    const big = engine(2);
    const outcomes = await big.runTasks([...tasks, ...Array.from({length: 4}, (_, i) => ({key: `l${i}`, sql: inList, timeoutMs: 10_000, snapshot: listed}))], {
      workers: 5,
    });
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(outcomes.slice(6).map((o) => o.rows)).toEqual(Array.from({length: 4}, () => [{pid: 2}]));
    expect(big.workersStarted).toBe(2);
    expect(Buffer.from(shared).equals(before)).toBe(true);
    // Never more workers than tasks: a lone query starts one, whatever the snapshot's size allows.
    const lone = engine(2);
    expect((await lone.runTasks(tasks.slice(0, 1), {workers: 2}))[0]?.status).toBe('ok');
    expect(lone.workersStarted).toBe(1);
  });

  it("workers read an open file's pages from disk: the rows its bytes give, and a page written since it was hashed is never read", async () => {
    const rows = Array.from({length: 400}, (_, i) => ({pid: 100 + i, name: 'sleep', command_line: ['sleep', `${i}`.padEnd(200, '.')]}));
    const bytes = await snapshotFromRows([...rows, {pid: 9999, name: 'marker-before'}]);
    const path = join(dir, 'pages.db');
    writeFileSync(path, bytes);
    const fd = openSync(path, 'r');
    const pages = runWhole(hashFilePages(path, fd, bytes.length)) as FilePages;
    try {
      const sql = "SELECT pid, name FROM processes WHERE name LIKE 'marker-%'";
      const tasks = (id: string): QueryTask[] =>
        Array.from({length: 4}, (_, i) => ({key: `p${i}`, sql, timeoutMs: 10_000, snapshot: {id, pages, lists: {shells: ['sh']}}}));
      const both = engine(2);
      const outcomes = await both.runTasks(tasks(`pages-${Math.random()}`), {workers: 2});
      expect(outcomes.map((o) => [o.status, o.rows])).toEqual(Array.from({length: 4}, () => ['ok', [{pid: 9999, name: 'marker-before'}]]));
      expect(both.workersStarted).toBe(2);
      expect(changedPage(pages)).toBeUndefined();
      // Written after it was hashed (same inode, same size), wherever the name is (its row, its index): workers
      // that read those pages now get zeros for them, never the name written.
      const written = Buffer.from(bytes);
      const changed = new Set<number>();
      for (let at = written.indexOf('marker-before', 4096); at >= 0; at = written.indexOf('marker-before', at + 1)) {
        written.write('marker-after!', at, 'latin1');
        changed.add(Math.floor(at / pages.pageSize));
      }
      writeFileSync(path, written, {flag: 'r+'});
      const fresh = engine(2);
      const after = await fresh.runTasks(tasks(`pages-${Math.random()}`), {workers: 2});
      expect(fresh.workersStarted).toBe(2);
      expect(JSON.stringify(after)).not.toContain('marker-after');
      expect(changed).toContain(changedPage(pages));
    } finally {
      closeFilePages(pages);
    }
  });

  it('builds a snapshot given as rows inside the worker, and a worker replacing one killed at its timeout has it too', async () => {
    const scan = makeScan(Date.UTC(2026, 11, 1), 3, 1);
    const processes = makeProcesses(scan, 3);
    const snapshot: SnapshotPayload = {id: `rows-${Math.random()}`, build: snapshotBuild(scan, processes), lists: {}};
    const everyPid = 'SELECT pid, name FROM processes ORDER BY pid';
    const e = engine(1);
    const outcomes = await e.runTasks([
      {key: 'first', sql: everyPid, timeoutMs: 10_000, snapshot},
      {key: 'endless', sql: ENDLESS_CTE, timeoutMs: 1000, snapshot},
      {key: 'after', sql: everyPid, timeoutMs: 10_000, snapshot},
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'timeout', 'ok']);
    const expected = processes.map((p) => ({pid: p.pid, name: p.name}));
    expect(outcomes[0]?.rows).toEqual(expected);
    expect(outcomes[2]?.rows).toEqual(expected);
    expect(e.workersStarted).toBe(2);
    // A build that is not whole rows fails every task that needs it, each with the reason.
    const broken: SnapshotPayload = {
      id: `broken-${Math.random()}`,
      build: {
        schema: ['CREATE TABLE processes (pid INTEGER)'],
        tables: [
          {name: 'processes', columns: ['pid'], values: []},
          {name: 'processes', columns: ['pid', 'x'], values: [1]},
        ],
      },
      lists: {},
    };
    const [failed] = await engine(1).runTasks([{key: 'broken', sql: everyPid, timeoutMs: 10_000, snapshot: broken}]);
    expect(failed).toMatchObject({status: 'error', error: expect.stringMatching(/not whole rows of processes/)});
  });

  it('no task starves another: a slow task first gets its fair share, then the rest of its timeout after every other task', async () => {
    const snapshot = await payload([{pid: 1}]);
    const tasks: QueryTask[] = [
      {key: 'slow-1', sql: ENDLESS_CTE, timeoutMs: 60_000, snapshot},
      {key: 'slow-2', sql: ENDLESS_CTE, timeoutMs: 60_000, snapshot},
      {key: 'slow-3', sql: ENDLESS_CTE, timeoutMs: 60_000, snapshot},
      ...Array.from({length: 4}, (_, i): QueryTask => ({key: `quick-${i}`, sql: 'SELECT pid FROM processes', timeoutMs: 60_000, snapshot})),
    ];
    // One worker, three endless tasks first in line, each with a timeout past the deadline: before, the
    // first ran until the deadline and nothing else ran.
    const e = engine(1);
    const outcomes = await e.runTasks(tasks, {deadlineMs: 8000});
    expect(outcomes.slice(3).map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    for (const slow of outcomes.slice(0, 3)) {
      expect(slow.status).toBe('timeout');
      expect(slow.error).toMatch(/stopped by the run deadline|so that every other rule ran first/);
    }
    // Each slow task's first turn ended with its worker replaced.
    expect(e.workersStarted).toBeGreaterThanOrEqual(4);
  });

  it("a first turn's budget: half of what is left of the deadline per waiting task and lane, raised towards a few restarts within the whole share", () => {
    // No deadline, or a worker per task: no sharing.
    expect(firstPassBudget(49, 2, undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(firstPassBudget(2, 2, 60_000)).toBe(Number.POSITIVE_INFINITY);
    // 49 rules on 2 workers with 60 s left: half of 60 s × 2 / 49.
    expect(firstPassBudget(49, 2, 60_000)).toBe(1224);
    // A cheap restart changes nothing; a dear one raises the share, up to the whole of it (2 × 60 s / 49).
    expect(firstPassBudget(49, 2, 60_000, 300)).toBe(1224);
    expect(firstPassBudget(49, 2, 60_000, 600)).toBe(RESTARTS_PER_SHARE * 600);
    expect(firstPassBudget(49, 2, 60_000, 5000)).toBe(2448);
    // The share grows as quick tasks finish: 10 left with 40 s to go.
    expect(firstPassBudget(10, 2, 40_000)).toBe(4000);
    // Never below the floor, even with the deadline past.
    expect(firstPassBudget(49, 2, -5, 5000)).toBe(MIN_FIRST_PASS_MS);
  });

  it('a task the deadline kept from starting is not run; one it stopped is timed out', async () => {
    const snapshot = await payload([{pid: 1}]);
    const tasks: QueryTask[] = [
      {key: 'slow-1', sql: ENDLESS_CTE, timeoutMs: 60_000, snapshot},
      {key: 'slow-2', sql: ENDLESS_CTE, timeoutMs: 60_000, snapshot},
    ];
    // As many workers as tasks: no sharing, each runs until the deadline.
    const outcomes = await engine(2).runTasks(tasks, {deadlineMs: 1500});
    expect(outcomes.map((o) => o.status)).toEqual(['timeout', 'timeout']);
    expect(outcomes[0]?.error).toMatch(/stopped by the run deadline after \d+ ms \(its timeout is 60000 ms\)/);
    const queued = await engine(1).runTasks([{key: 'late', sql: 'SELECT pid FROM processes', timeoutMs: 1000, snapshot}], {deadlineMs: 0});
    expect(queued.map((o) => o.status)).toEqual(['not_run']);
  });

  it('a timeout or deadline past what Node timers take (2^31−1 ms) is that long, not 1 ms', async () => {
    const snapshot = await payload([{pid: 1}]);
    // ≈ 100 ms of work: a 1 ms timer would kill it.
    const counting = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) AS pid FROM c';
    // The in-process lane: its own limit (node:vm's, a 32-bit count of ms) is clamped the same way.
    const outcomes = await engine(1, undefined, true).runTasks(
      [
        {key: 'long-timeout', sql: counting, timeoutMs: 2 ** 31, snapshot},
        {key: 'huge-timeout', sql: counting, timeoutMs: 1e15, snapshot},
      ],
      {deadlineMs: 2 ** 40},
    );
    expect(outcomes.map((o) => [o.status, o.rows])).toEqual([
      ['ok', [{pid: 300000}]],
      ['ok', [{pid: 300000}]],
    ]);
  });

  it.each([
    ['a worker', false],
    ['the in-process lane', true],
  ])('caps result rows, reports SQL errors per rule, and serves named lists (%s)', async (_lane, inProcess) => {
    const snapshot = await payload(
      Array.from({length: 30}, (_, i) => ({pid: i + 1, name: i % 2 === 0 ? 'nginx' : 'bash'})),
      {servers: ['nginx']},
    );
    const e = engine(1, 10, inProcess);
    const outcomes = await e.runTasks([
      {key: 'capped', sql: 'SELECT pid FROM processes', timeoutMs: 10_000, snapshot},
      {key: 'broken', sql: "SELECT pid FROM processes WHERE regexp('(', name)", timeoutMs: 10_000, snapshot},
      {key: 'listed', sql: 'SELECT count(*) AS n FROM processes WHERE name IN (SELECT value FROM list_servers)', timeoutMs: 10_000, snapshot},
      {key: 'readonly', sql: 'DELETE FROM processes', timeoutMs: 10_000, snapshot},
      {key: 'udfs', sql: "SELECT basename('/usr/bin/x') AS b, dirname('/usr/bin/x') AS d, dirname('x') AS e", timeoutMs: 10_000, snapshot},
      // The rule database's sql.js has no file system of the host: ATTACH finds no file there.
      {key: 'attach', sql: "ATTACH '/etc/passwd' AS host", timeoutMs: 10_000, snapshot},
    ]);
    expect([e.workersStarted, e.inProcessLanes]).toEqual(inProcess ? [0, 1] : [1, 0]);
    expect(outcomes[0]).toMatchObject({status: 'ok', truncated: true});
    expect(outcomes[0]?.rows).toHaveLength(10);
    expect(outcomes[1]).toMatchObject({status: 'error', error: expect.stringMatching(/regular expression/i)});
    expect(outcomes[2]?.rows).toEqual([{n: 15}]);
    // Even SQL that skipped the validator cannot write: the worker's copy is query-only.
    expect(outcomes[3]).toMatchObject({status: 'error', error: expect.stringMatching(/readonly|read-only|query_only|attempt to write/i)});
    expect(outcomes[4]?.rows).toEqual([{b: 'x', d: '/usr/bin', e: '.'}]);
    expect(outcomes[5]).toMatchObject({status: 'error', error: expect.stringMatching(/unable to open database/)});
  });

  it('runs a small snapshot on this thread: a runaway rule is stopped at its timeout and its lane replaced; the others still alert', async () => {
    const rows = [...Array.from({length: 40}, (_, i) => ({pid: 100 + i, name: `${'a'.repeat(28)}!`})), {pid: 7, executable_path: '/tmp/evil'}];
    const e = engine(2, undefined, true);
    const run = await runRulesOnSnapshot({
      engine: e,
      validator: new SqlValidator(),
      rules: [
        rule('endless-cte', ENDLESS_CTE),
        rule('exec-from-tmp', "SELECT pid, name FROM processes WHERE executable_path LIKE '/tmp/%'"),
        rule('cartesian', CARTESIAN),
        rule('backtracking-regexp', BACKTRACKING),
      ],
      lists: {},
      snapshot: await snapshotFromRows(rows),
      config: {scanId: 1, timeout: 60_000, ruleTimeoutMs: 300, keyFields: ['rule_id', 'process_name']},
    });
    const byId = Object.fromEntries(run.results.map((r) => [r.rule_id, r]));
    expect(byId['endless-cte']).toMatchObject({status: 'timeout', error: expect.stringMatching(/killed after 300 ms/)});
    expect(byId['cartesian']?.status).toBe('timeout');
    expect(byId['backtracking-regexp']).toMatchObject({status: 'ok', row_count: 0});
    expect(run.alerts.map((a) => a.rule_id)).toEqual(['exec-from-tmp']);
    // No worker: each stopped query's sql.js instance was dropped and the next rule got a new one.
    expect([e.workersStarted, e.inProcessLanes]).toEqual([0, 3]);
    // One lane over a snapshot of any size, by default: this thread (a worker would cost a Node environment).
    const one = new DetectionEngine({workers: 1});
    engines.push(one);
    const large = await payload([{pid: 7, command_line: ['sh', '-c', 'x'.repeat(SNAPSHOT_BYTES_PER_EXTRA_WORKER)]}]);
    expect('bytes' in large && large.bytes.byteLength).toBeGreaterThan(SNAPSHOT_BYTES_PER_EXTRA_WORKER);
    expect((await one.runTasks([{key: 'q', sql: 'SELECT pid FROM processes', timeoutMs: 10_000, snapshot: large}]))[0]?.rows).toEqual([{pid: 7}]);
    expect([one.workersStarted, one.inProcessLanes]).toEqual([0, 1]);
    // A snapshot as big as the limit goes to a worker.
    const big = new DetectionEngine({workers: 1, inProcessBelowBytes: 1});
    engines.push(big);
    const snapshot = await payload([{pid: 1}]);
    expect((await big.runTasks([{key: 'q', sql: 'SELECT pid FROM processes', timeoutMs: 10_000, snapshot}]))[0]?.rows).toEqual([{pid: 1}]);
    expect([big.workersStarted, big.inProcessLanes]).toEqual([1, 0]);
  });

  it('the run deadline stops an in-process query that outlives it, and nothing starts after it', async () => {
    const snapshot = await payload([{pid: 1}]);
    const e = engine(1, undefined, true);
    const outcomes = await e.runTasks(
      [
        {key: 'slow', sql: ENDLESS_CTE, timeoutMs: 60_000, snapshot},
        {key: 'quick', sql: 'SELECT pid FROM processes', timeoutMs: 60_000, snapshot},
      ],
      {deadlineMs: 500},
    );
    expect(outcomes.map((o) => o.status)).toEqual(['timeout', 'not_run']);
    expect(outcomes[0]?.error).toMatch(/stopped by the run deadline after \d+ ms \(its timeout is 60000 ms\)/);
    // node:vm's watchdog stops a JavaScript loop too (a rule function runs JavaScript inside a query).
    expect(
      runWithin(() => {
        for (;;);
      }, 50),
    ).toBe('stopped');
    expect(runWithin(() => 42, 50)).toBe(42);
    expect(() =>
      runWithin(() => {
        throw new Error('boom');
      }, 50),
    ).toThrow('boom');
  });

  it('fails a rule whose rows carry no pid, and one refused by the validator, without stopping the run', async () => {
    const run = await runRulesOnSnapshot({
      engine: engine(1, undefined, true),
      validator: new SqlValidator(),
      rules: [
        rule('no-pid', 'SELECT name FROM processes'),
        rule('refused', 'SELECT readfile(name) AS pid FROM processes'),
        rule('ok', 'SELECT pid, name FROM processes'),
      ],
      lists: {},
      snapshot: await snapshotFromRows([{pid: 3, name: 'x'}]),
      config: {scanId: 9, timeout: 30_000, ruleTimeoutMs: 10_000, keyFields: ['rule_id', 'process_name']},
    });
    expect(run.results.map((r) => [r.rule_id, r.status])).toEqual([
      ['no-pid', 'error'],
      ['refused', 'error'],
      ['ok', 'ok'],
    ]);
    expect(run.results[0]?.error).toMatch(/no pid column/);
    expect(run.results[1]?.error).toMatch(/SQL refused: forbidden_function/);
    expect(run.alerts).toHaveLength(1);
    expect(run.alerts[0]).toMatchObject({rule_id: 'ok', scan_id: 9, dedupe_key: 'ok:x', affected_processes: [3]});
  });
});

describe('a signal that comes just before an in-process query', () => {
  it('ends the run: the lane gives the event loop a turn before it sets the listeners aside', async () => {
    const {spawnSync} = await import('node:child_process');
    const {mkdtempSync, rmSync, writeFileSync} = await import('node:fs');
    const {tmpdir} = await import('node:os');
    const {join} = await import('node:path');
    const {pathToFileURL} = await import('node:url');
    const dir = mkdtempSync(join(tmpdir(), 'daemoneye-lane-signal-'));
    try {
      const file = join(dir, 'snapshot.db');
      writeFileSync(file, await snapshotFromRows([{pid: 1}]));
      const dist = (path: string): string => pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'src', path)).href;
      // The built modules, as the CLI runs them: the handler installed, a snapshot loaded, then SIGTERM sent and
      // caught by Node (read on the loop's next turn) right before a query that would run 20 s.
      const script = [
        `import {readFileSync} from 'node:fs';`,
        `import {installInterruptHandlers} from '${dist('util/interrupt.js')}';`,
        `import {InProcessSlot} from '${dist('detection/in-process-lane.js')}';`,
        'installInterruptHandlers();',
        'const slot = new InProcessSlot();',
        `await slot.load('s', new Uint8Array(readFileSync(${JSON.stringify(file)})), {});`,
        "process.kill(process.pid, 'SIGTERM');",
        `const result = await slot.run(1, ${JSON.stringify(ENDLESS_CTE)}, 10, 20000);`,
        "process.stdout.write('survived: ' + result.type);",
      ].join('\n');
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', timeout: 60_000});
      // Before, the signal was dropped with the listeners and the query ran to its limit ("survived: stopped").
      expect({signal: child.signal, stdout: child.stdout}, child.stderr).toEqual({signal: 'SIGTERM', stdout: ''});
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });
});

describe('lanes, memory first: one lane until the run falls behind its deadline', () => {
  it('projects the work left from the finished tasks and adds lanes when it passes three quarters of what is left', () => {
    const at = (progress: Partial<LaneProgress>): number =>
      lanesNeeded({finished: 10, finishedMs: 1000, waiting: 100, overranMs: 0, lanes: 1, maxLanes: 2, leftMs: 60_000, deadlineMs: 60_000, ...progress});
    expect([ESCALATION_SHARE, PROJECTION_SAMPLE_TASKS, PROJECTION_SAMPLE_SHARE]).toEqual([0.75, 8, 0.05]);
    // 100 tasks of 100 ms on one lane: 10 s of 45 s. Stays on one lane.
    expect(at({})).toBe(1);
    // Nothing finished yet: nothing to project from.
    expect(at({finished: 0, finishedMs: 0})).toBe(1);
    // Too small a sample: two tasks, one of them warming the page cache, would project 57 s of 43 s.
    expect(at({finished: 2, finishedMs: 600, waiting: 191, leftMs: 57_600})).toBe(1);
    // The same mean over eight tasks is a sample: 2 lanes.
    expect(at({finished: 8, finishedMs: 8 * 300, waiting: 185, leftMs: 57_600})).toBe(2);
    // So is 5% of the deadline spent: three tasks of a second each.
    expect(at({finished: 3, finishedMs: 3000, waiting: 190, leftMs: 57_000})).toBe(2);
    expect(at({finished: 2, finishedMs: 2000, waiting: 190, leftMs: 58_000})).toBe(1);
    // The same work with 13 s left: 10 s > 9.75 s, a second lane.
    expect(at({leftMs: 13_000})).toBe(2);
    // As many as bring it under the share, the cap permitting.
    expect(at({leftMs: 6000, maxLanes: 8})).toBe(3);
    expect(at({leftMs: 6000, maxLanes: 2})).toBe(2);
    // A task queued for its second turn needs at least what it ran again.
    expect(at({waiting: 0, overranMs: 20_000, leftMs: 20_000})).toBe(2);
    expect(at({waiting: 0, overranMs: 20_000, leftMs: 30_000})).toBe(1);
    // At the cap, or past the deadline, nothing more.
    expect(at({leftMs: 1000, lanes: 2})).toBe(2);
    expect(at({leftMs: -5})).toBe(1);
  });

  /** Slow tasks of about the same cost each, and their rows: each counts to `count` (+ its index). */
  function counting(snapshot: SnapshotPayload, tasks: number, count: number): QueryTask[] {
    return Array.from({length: tasks}, (_, i) => ({
      key: `count-${i}`,
      sql: `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${count + i}) SELECT count(*) AS pid FROM c`,
      timeoutMs: 60_000,
      snapshot,
    }));
  }

  it('a fast set with a generous deadline stays on the in-process lane: no worker started', async () => {
    const snapshot = await payload([{pid: 1}, {pid: 2}]);
    const tasks: QueryTask[] = Array.from({length: 12}, (_, i) => ({
      key: `q${i}`,
      sql: `SELECT pid + ${i} AS pid FROM processes`,
      timeoutMs: 10_000,
      snapshot,
    }));
    const e = new DetectionEngine({workers: 4});
    engines.push(e);
    const outcomes = await e.runTasks(tasks, {deadlineMs: 60_000, workers: 4});
    expect(outcomes.map((o) => [o.status, o.rows])).toEqual(tasks.map((_, i) => ['ok', [{pid: 1 + i}, {pid: 2 + i}]]));
    expect([e.workersStarted, e.inProcessLanes, e.peakLanes, e.escalations]).toEqual([0, 1, 1, []]);
  });

  it('a slow set with a tight deadline starts workers, runs every task, and gives what one lane gives', async () => {
    // Shared bytes, as detect --input reads them; a worker added mid-run reads the same copy.
    const snapshot: SnapshotPayload = {id: `slow-${Math.random()}`, bytes: inSharedMemory(await snapshotFromRows([{pid: 1}, {pid: 2}])), lists: {}};
    // The cost of one slow task on this machine now, on one lane (the better of two: the first also makes
    // the lane): the deadline is set from it.
    const calibration = new DetectionEngine({workers: 1});
    engines.push(calibration);
    const [one] = counting(snapshot, 1, 600_000);
    let taskMs = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 2; run++) {
      const started = performance.now();
      expect((await calibration.runTasks([one as QueryTask]))[0]?.status).toBe('ok');
      taskMs = Math.min(taskMs, performance.now() - started);
    }
    // Three slow tasks first, then twenty quick ones.
    const tasks = [
      ...counting(snapshot, 3, 600_000),
      ...Array.from({length: 20}, (_, i): QueryTask => ({key: `quick-${i}`, sql: `SELECT pid + ${i} AS pid FROM processes`, timeoutMs: 60_000, snapshot})),
    ];
    // Generous: one lane, every task.
    const alone = new DetectionEngine({workers: 2});
    engines.push(alone);
    const expected = await alone.runTasks(tasks, {deadlineMs: 600_000});
    expect(expected.map((o) => o.status)).toEqual(tasks.map(() => 'ok'));
    expect(alone.workersStarted).toBe(0);
    // Tight: a deadline of 15 slow tasks. The first slow task is a sample (more than 5% of the deadline),
    // and its time for each of the 22 tasks waiting passes three quarters of what is left (≈ 10.5): a worker
    // is added.
    // One lane would still have finished (≈ 3 slow tasks), so every task runs whatever the machine's load.
    const e = new DetectionEngine({workers: 2});
    engines.push(e);
    const outcomes = await e.runTasks(tasks, {deadlineMs: 15 * taskMs});
    expect(outcomes.map((o) => [o.key, o.status, o.rows])).toEqual(expected.map((o) => [o.key, o.status, o.rows]));
    expect(e.workersStarted).toBe(1);
    expect(e.peakLanes).toBe(2);
    expect(e.escalations).toHaveLength(1);
    expect(e.escalations[0]?.lanes).toBe(2);
    // The same tasks with the lanes capped at one (max_concurrent_rules: 1) never start a worker.
    const capped = new DetectionEngine({workers: 1});
    engines.push(capped);
    await capped.runTasks(tasks.slice(0, 2), {deadlineMs: 1});
    expect(capped.workersStarted).toBe(0);
  });
});
