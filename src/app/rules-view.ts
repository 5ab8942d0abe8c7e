// How the `rules` commands print (src/output/view.ts): `rules list`, `rules validate`, `rules test` and `rules coverage`.
import {junitLines, type RuleTestSummary} from '../detection/rule-tests.js';
import type {RuleFileReport, RulesValidation} from '../detection/validate-rules.js';
import {navigatorLayer, type CoverageReport, type TechniqueCoverage} from '../detection/attack-coverage.js';
import {jsonPieces} from '../output/json-pieces.js';
import type {View} from '../output/view.js';
import type {RuleListing, RulesTestSummary} from './rules.js';

const RULE_LIST_FIELDS = ['id', 'name', 'severity', 'category', 'tags', 'enabled', 'source_type', 'format', 'status'] as const;

/** How `rules list` prints: records (NDJSON, JSON), a table, or CSV (tags space-separated). */
export function ruleListView(rules: readonly RuleListing[]): View<RuleListing> {
  return {
    rows: rules,
    columns: RULE_LIST_FIELDS.map((f) => ({
      header: f.toUpperCase(),
      get: (r: RuleListing) => (f === 'tags' ? r.tags.join(' ') : f === 'enabled' ? (r.enabled ? 'yes' : 'no') : (r[f] ?? '')),
    })),
    csv: {
      header: [...RULE_LIST_FIELDS, 'source_path'],
      values: (r) => [...RULE_LIST_FIELDS.map((f) => (f === 'tags' ? r.tags.join(' ') : r[f])), r.source_path],
    },
  };
}

/** How `rules validate` prints: one record per file (NDJSON, table), or the whole result as JSON. */
export function ruleValidationView(result: RulesValidation): View<RuleFileReport> {
  return {
    rows: result.files,
    document: result,
    columns: [
      {header: 'FILE', get: (f) => f.file},
      {header: 'VALID', get: (f) => (f.valid ? 'yes' : 'no')},
      {header: 'PROBLEMS', get: (f) => f.problems.length, align: 'right'},
    ],
  };
}

/** How `rules test` prints: one record per case (NDJSON), the summary (JSON), JUnit XML, or nothing on stdout (`text`: cases go to stderr). */
export function ruleTestView(summary: RulesTestSummary): View<RuleTestSummary['results'][number]> {
  return {rows: summary.results, document: summary, text: {text: () => '', junit: () => junitLines(summary)}};
}

/** How `rules coverage` prints: one row per technique (table, NDJSON, CSV), the whole report (JSON), or a Navigator layer. */
export function coverageView(report: CoverageReport): View<TechniqueCoverage> {
  const why = (row: TechniqueCoverage): string => (row.status === 'covered' ? row.rules.join(' ') : (row.gap ?? row.note));
  return {
    rows: report.techniques,
    document: report,
    columns: [
      {header: 'TECHNIQUE', get: (row) => row.technique_id},
      {header: 'NAME', get: (row) => row.name},
      {header: 'STATUS', get: (row) => row.status},
      {header: 'RULES OR WHY NOT', get: why},
    ],
    csv: {
      header: ['technique_id', 'name', 'tactics', 'status', 'severity', 'rules', 'note', 'gap'],
      values: (row) => [row.technique_id, row.name, row.tactics.join(' '), row.status, row.severity, row.rules.join(' '), row.note, row.gap],
    },
    text: {navigator: () => navigatorPieces(report)},
  };
}

/** The Navigator layer as JSON.stringify(layer, null, 2) and a newline, in pieces (src/output/json-pieces.ts). */
function* navigatorPieces(report: CoverageReport): Generator<string, void, undefined> {
  yield* jsonPieces(navigatorLayer(report), 2);
  yield '\n';
}
