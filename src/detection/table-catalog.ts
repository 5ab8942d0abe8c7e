// What a rule or a query can read, as `daemoneye tables [TABLE]` prints it (osqueryi's `.tables` and
// `.schema`): the tables of the registry with their columns, and the named lists the configuration defines.
// `sqlite_master` and PRAGMA stay refused by the SQL policy; this is the one way to see the schema. How it
// prints is table-catalog-view.ts.
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import {TABLES} from '../models/tables.js';
import {closestMatch} from '../util/closest.js';
import {loadNamedLists} from './lists.js';
import {PROCESS_TRAITS_VIEW, RULE_PREDICATES} from './rule-predicates.js';
import {RuleManager} from './rule-manager.js';

/** One table a query may read. */
export interface TableListing {
  readonly name: string;
  /**
   * `snapshot`: `processes`, in every scan; `live-response`: collected when a rule or query reads it (or
   * `scan --tables`); `record`: what the tool itself writes (`scans`, `alerts`); `view`: `process_traits`,
   * `processes` with the shared predicates (rule-predicates.ts); `list`: a named list.
   */
  readonly kind: 'snapshot' | 'live-response' | 'record' | 'view' | 'list';
  readonly description: string;
  /** Number of columns. */
  readonly columns: number;
}

/** One column of one table. */
export interface ColumnListing {
  readonly table: string;
  readonly column: string;
  /** SQLite storage type: `INTEGER`, `REAL` or `TEXT`. */
  readonly type: string;
  /** The value as the docs describe it (`integer`, `JSON array of text`, `boolean (0/1)`, …). */
  readonly doc_type: string;
  readonly nullable: boolean;
  readonly description: string;
}

const LIST_DESCRIPTION = 'Named list (detection.lists, or lists/<name>.txt beside the rules): one value per row';

const TRAITS_DESCRIPTION = `View: every column of processes, plus one 0/1 column per shared rule predicate (${RULE_PREDICATES.map((p) => p.name).join(', ')})`;

/** The columns of `process_traits`: those of `processes`, then one boolean per predicate. */
function traitColumns(table: string): ColumnListing[] {
  const processes = TABLES.find((t) => t.name === 'processes');
  return [
    ...(processes?.columns ?? []).map((c) => ({
      table,
      column: c.name,
      type: c.sqlType,
      doc_type: c.docType.replaceAll('\\|', '|'),
      nullable: c.nullable,
      description: c.description,
    })),
    ...RULE_PREDICATES.map((p) => ({table, column: p.name, type: 'INTEGER', doc_type: 'boolean (0/1)', nullable: false, description: p.description})),
  ];
}

/** The named lists this configuration defines (shipped, user and configured), by name: what rules and `query` read. */
export function namedLists(config: DaemonEyeConfig, env: NodeJS.ProcessEnv): Record<string, string[]> {
  const roots = new RuleManager({config, env}).roots().map((root) => root.path);
  return loadNamedLists(config.detection.lists, roots);
}

/** Every table a query may read: the registry's, the view `process_traits`, then `list_<name>` for each named list. */
export function listTables(config: DaemonEyeConfig, env: NodeJS.ProcessEnv = process.env): TableListing[] {
  const tables: TableListing[] = TABLES.map((table) => ({
    name: table.name,
    kind: !table.collected ? 'record' : table.alwaysCollected ? 'snapshot' : 'live-response',
    description: table.description,
    columns: table.columns.length,
  }));
  tables.push({name: PROCESS_TRAITS_VIEW, kind: 'view', description: TRAITS_DESCRIPTION, columns: traitColumns(PROCESS_TRAITS_VIEW).length});
  for (const name of Object.keys(namedLists(config, env)).sort()) {
    tables.push({name: `list_${name}`, kind: 'list', description: LIST_DESCRIPTION, columns: 1});
  }
  return tables;
}

/**
 * The columns of one table (a `baseline_<table>` name gives its table's columns). Throws USAGE naming the
 * closest table when `name` is not one.
 */
export function describeTable(name: string, config: DaemonEyeConfig, env: NodeJS.ProcessEnv = process.env): ColumnListing[] {
  const base = name.startsWith('baseline_') ? name.slice('baseline_'.length) : name;
  const table = TABLES.find((t) => t.name === base && !(base === 'alerts' && base !== name));
  if (table !== undefined) {
    return table.columns.map((c) => ({
      table: name,
      column: c.name,
      type: c.sqlType,
      doc_type: c.docType.replaceAll('\\|', '|'),
      nullable: c.nullable,
      description: c.description,
    }));
  }
  if (name === PROCESS_TRAITS_VIEW) return traitColumns(name);
  const lists = namedLists(config, env);
  if (name.startsWith('list_') && lists[name.slice('list_'.length)] !== undefined) {
    return [{table: name, column: 'value', type: 'TEXT', doc_type: 'text', nullable: false, description: 'One value of the list'}];
  }
  const known = [...TABLES.map((t) => t.name), PROCESS_TRAITS_VIEW, ...Object.keys(lists).map((l) => `list_${l}`)];
  const guess = closestMatch(name, known);
  throw new DaemonEyeError('USAGE', `no table ${name}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`, {
    hint: 'run `daemoneye tables` to list them',
  });
}
