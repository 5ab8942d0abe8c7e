// `rules test` and RuleManager.testRule: run rules against their own test cases (each case a whole small
// snapshot; the rule must flag exactly the expected pids) or against data the caller gives.
import {relative, isAbsolute} from 'node:path';

import {LineCounter, parseDocument, isSeq} from 'yaml';

import type {DetectionEngine, QueryTask, TaskOutcome} from './engine.js';
import {readsBaseline, withBaselineBytes} from './baseline.js';
import {snapshotFromRows} from './fixture-snapshot.js';
import {TEST_CASE_TABLES} from './rule-source.js';
import type {NamedLists} from './lists.js';
import type {LoadedRule} from './rule-manager.js';
import {missingTables, resultOf, type RuleExecutionConfig, skippedResult, snapshotPayload} from './rules-on-snapshot.js';
import type {SqlValidator} from './sql-validator.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';
import {yamlDepthProblem} from '../util/yaml.js';
import {TimeSlicer} from '../util/interrupt.js';

export interface RuleCaseResult {
  readonly rule_id: string;
  /** The rule file, as it was loaded. */
  readonly file: string;
  /** 1-based line of the case in the file (of the problem, for an invalid file); null when unknown. */
  readonly line: number | null;
  /** The case name, or `input` when the rule ran on given data. */
  readonly case: string;
  readonly passed: boolean;
  /** Expected pids (null when running on given data: there is no expectation). */
  readonly expected: readonly number[] | null;
  readonly actual: readonly number[];
  readonly error: string | null;
  readonly elapsed_ms: number;
}

export interface RuleTestSummary {
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly RuleCaseResult[];
}

export interface RuleTestOptions {
  readonly engine: DetectionEngine;
  readonly validator: SqlValidator;
  readonly lists: NamedLists;
  readonly ruleTimeoutMs: number;
  /** Deadline of the whole test run. */
  readonly timeoutMs: number;
}

const executionConfig = (options: RuleTestOptions): RuleExecutionConfig => ({
  scanId: null,
  timeout: options.timeoutMs,
  ruleTimeoutMs: options.ruleTimeoutMs,
  keyFields: ['rule_id'],
});

function summarise(results: RuleCaseResult[]): RuleTestSummary {
  const passed = results.filter((r) => r.passed).length;
  return {passed, failed: results.length - passed, results};
}

function pidsOf(loaded: LoadedRule, outcome: TaskOutcome, options: RuleTestOptions): {pids: number[]; error: string | null} {
  const result = resultOf(loaded, outcome, executionConfig(options));
  if (result.status !== 'ok') return {pids: [], error: result.error};
  const pids = [...new Set(result.alerts.flatMap((a) => a.affected_processes))].sort((a, b) => a - b);
  return {pids, error: result.truncated ? 'the result was cut at the row limit' : null};
}

/** Run each rule's own test cases. A rule without cases fails: every rule must prove what it catches. */
export async function runRuleTestCases(rules: readonly LoadedRule[], options: RuleTestOptions): Promise<RuleTestSummary> {
  const tasks: QueryTask[] = [];
  const expectations: {loaded: LoadedRule; name: string; line: number | null; expect: number[]}[] = [];
  const results: (RuleCaseResult | undefined)[] = [];
  // Each case's snapshot is built on this thread: a turn of the event loop between cases once a slice has run,
  // so a signal is not held back by hundreds of them (src/util/interrupt.ts).
  const slicer = new TimeSlicer();
  for (const loaded of rules) {
    await slicer.tick();
    const file = loaded.definition.file;
    if (loaded.definition.tests.length === 0) {
      results.push({
        rule_id: loaded.rule.id,
        file,
        line: null,
        case: '(no test cases)',
        passed: false,
        expected: [],
        actual: [],
        error: 'the rule has no test cases',
        elapsed_ms: 0,
      });
      continue;
    }
    const lines = testCaseLines(file);
    for (const [caseIndex, testCase] of loaded.definition.tests.entries()) {
      await slicer.tick();
      const tables = Object.fromEntries(
        TEST_CASE_TABLES.flatMap((name) => {
          const rows = (testCase as Record<string, unknown>)[name] as readonly Record<string, unknown>[] | undefined;
          return rows === undefined ? [] : [[name, rows]];
        }),
      );
      const own = await snapshotFromRows(testCase.processes, {tables});
      const bytes = readsBaseline(loaded.rule.sql_query) ? await withBaselineBytes(own, await snapshotFromRows(testCase.baseline_processes ?? [])) : own;
      const payload = snapshotPayload(bytes, options.lists, [loaded.rule.sql_query], options.validator);
      tasks.push({
        key: `${loaded.rule.id}\u0000${testCase.name}`,
        sql: loaded.rule.sql_query,
        timeoutMs: loaded.definition.timeout_ms ?? options.ruleTimeoutMs,
        snapshot: payload,
      });
      expectations.push({loaded, name: testCase.name, line: lines[caseIndex] ?? null, expect: [...testCase.expect].sort((a, b) => a - b)});
      results.push(undefined);
    }
  }
  const outcomes = await options.engine.runTasks(tasks, {deadlineMs: options.timeoutMs});
  let taskIndex = 0;
  const filled = results.map((existing) => {
    if (existing !== undefined) return existing;
    const outcome = outcomes[taskIndex] as TaskOutcome;
    const {loaded, name, line, expect} = expectations[taskIndex++] as (typeof expectations)[number];
    const {pids, error} = pidsOf(loaded, outcome, options);
    const passed = error === null && pids.length === expect.length && pids.every((pid, i) => pid === expect[i]);
    return {
      rule_id: loaded.rule.id,
      file: loaded.definition.file,
      line,
      case: name,
      passed,
      expected: expect,
      actual: pids,
      error,
      elapsed_ms: Math.round(outcome.elapsedMs),
    };
  });
  return summarise(filled);
}

/**
 * Run rules on given snapshot bytes (`rules test --input`): passes when the rule runs; reports the pids it
 * flags. A rule reading a host table the input did not collect (`tables`) fails naming it, never "no rows".
 */
export async function runRulesOnInput(
  rules: readonly LoadedRule[],
  bytes: Uint8Array,
  options: RuleTestOptions,
  tables?: readonly string[],
  /** The collectors of the input's scans: what the advice about a table it lacks says (missingTablesAdvice). */
  collectors: readonly string[] = [],
): Promise<RuleTestSummary> {
  const missing = new Map(rules.map((r) => [r.rule.id, missingTables(options.validator, r.rule.sql_query, tables)]));
  const payload = snapshotPayload(
    bytes,
    options.lists,
    rules.map((r) => r.rule.sql_query),
    options.validator,
  );
  const tasks = rules.map((r) => ({key: r.rule.id, sql: r.rule.sql_query, timeoutMs: r.definition.timeout_ms ?? options.ruleTimeoutMs, snapshot: payload}));
  const outcomes = await options.engine.runTasks(tasks, {deadlineMs: options.timeoutMs});
  return summarise(
    rules.map((loaded, index) => {
      const outcome = outcomes[index] as TaskOutcome;
      const lacking = missing.get(loaded.rule.id) ?? [];
      if (lacking.length > 0) {
        const error = skippedResult(loaded.rule.id, lacking, collectors).error;
        return {
          rule_id: loaded.rule.id,
          file: loaded.definition.file,
          line: null,
          case: 'input',
          passed: false,
          expected: null,
          actual: [],
          error,
          elapsed_ms: 0,
        };
      }
      const {pids, error} = pidsOf(loaded, outcome, options);
      return {
        rule_id: loaded.rule.id,
        file: loaded.definition.file,
        line: null,
        case: 'input',
        passed: error === null,
        expected: null,
        actual: pids,
        error,
        elapsed_ms: Math.round(outcome.elapsedMs),
      };
    }),
  );
}

const xml = (text: string): string =>
  text
    .replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd]/gu, '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

/**
 * 1-based line of each item of the rule file's `tests:` list, in order ([] for a file that is not YAML or
 * has no such list). Read again from the file: the loaded definition keeps values, not positions.
 */
export function testCaseLines(file: string): number[] {
  if (!/\.ya?ml$/i.test(file)) return [];
  try {
    const counter = new LineCounter();
    const text = readRegularTextFile(file, FILE_LIMITS.rule);
    if (yamlDepthProblem(text) !== undefined) return [];
    const doc = parseDocument(text, {lineCounter: counter});
    const tests = doc.get('tests', true);
    if (!isSeq(tests)) return [];
    return tests.items.map((item) => {
      const offset = (item as {range?: [number, number, number]}).range?.[0];
      return offset === undefined ? 0 : counter.linePos(offset).line;
    });
  } catch {
    return [];
  }
}

/** A path as CI annotators want it: relative to the working directory (the repository) when inside it. */
function reportPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/**
 * JUnit XML for CI systems (the de-facto schema of Jenkins/Ant JUnit reports, as GitHub and GitLab read
 * it): one testsuite per rule, named by the rule id, and one testcase per case, each with the `file` (relative
 * to the working directory when inside it) and `line` annotators need to point at the case. A line at a time
 * (each piece a whole line with its newline), for a writer that writes as it goes.
 */
export function* junitLines(summary: RuleTestSummary): Generator<string, void, undefined> {
  const byRule = new Map<string, RuleCaseResult[]>();
  for (const result of summary.results) {
    const cases = byRule.get(result.rule_id);
    if (cases === undefined) byRule.set(result.rule_id, [result]);
    else cases.push(result);
  }
  yield '<?xml version="1.0" encoding="UTF-8"?>\n';
  yield `<testsuites name="daemoneye rules" tests="${summary.results.length}" failures="${summary.failed}">\n`;
  for (const [ruleId, cases] of byRule) {
    const failures = cases.filter((c) => !c.passed).length;
    const time = cases.reduce((sum, c) => sum + c.elapsed_ms, 0) / 1000;
    const file = xml(reportPath(cases[0]?.file ?? ''));
    yield `  <testsuite name="${xml(ruleId)}" tests="${cases.length}" failures="${failures}" time="${time.toFixed(3)}" file="${file}">\n`;
    for (const c of cases) {
      const where = ` file="${xml(reportPath(c.file))}"${c.line === null ? '' : ` line="${c.line}"`}`;
      const open = `    <testcase classname="${xml(ruleId)}" name="${xml(c.case)}"${where} time="${(c.elapsed_ms / 1000).toFixed(3)}"`;
      if (c.passed) {
        yield `${open}/>\n`;
      } else {
        yield `${open}>\n      <failure message="${xml(failureText(c))}"/>\n    </testcase>\n`;
      }
    }
    yield '  </testsuite>\n';
  }
  yield '</testsuites>\n';
}

/** Why a case failed, in one line. */
export function failureText(result: RuleCaseResult): string {
  if (result.error !== null) return result.error;
  return `expected pids [${(result.expected ?? []).join(', ')}], got [${result.actual.join(', ')}]`;
}
