// The Sigma compiler: a Sigma rule's detection (Sigma rules specification v2 and its modifiers appendix,
// https://github.com/SigmaHQ/sigma-specification) to one SQLite SELECT over the snapshot's `processes`
// table, in the SQL the rule validator accepts. What cannot be compiled exactly is refused with the reason
// and the YAML path it concerns; a rule is never loosened. docs/sigma.md describes the semantics. Stages:
// values as patterns (pattern.ts), modifiers applied here, SQL rendering (sql.ts), the field mapping
// (fields.ts).
import type {YamlPath} from '../rule-source.js';
import {checkRegex} from '../regex.js';
import {ConditionError, type ConditionNode, identifierMatches, parseCondition} from './condition.js';
import {base64, base64Offsets, hasWildcards, parseSigmaString, type Pattern, type Piece, plainText, windash} from './pattern.js';
import {andAll, matchSql, orAll, sqlString} from './sql.js';
import {ROW_ALIAS, SIGMA_LOGSOURCES, SIGMA_PROCESS_CREATION_FIELDS, type SigmaFieldMapping} from './fields.js';

/** Why a Sigma rule cannot be compiled, and where (a path into its YAML). */
export class SigmaCompileError extends Error {
  constructor(
    message: string,
    readonly path: YamlPath,
  ) {
    super(message);
  }
}

/** The list every compiled rule reads to skip allowed processes (docs/sigma.md, "Tuning"). */
export const SIGMA_ALLOW_LIST = 'sigma_allow';

// ---------------------------------------------------------------------------------------------------------
// Field conditions.

const MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'i',
  'm',
  's',
  'cased',
  'exists',
  'windash',
  'base64',
  'base64offset',
  'cidr',
  'fieldref',
  'neq',
  'lt',
  'lte',
  'gt',
  'gte',
]);

/** Modifiers of the specification this compiler refuses, with the reason. */
const REFUSED_MODIFIERS: ReadonlyMap<string, string> = new Map([
  ['utf16le', 'process command lines are never UTF-16'],
  ['utf16be', 'process command lines are never UTF-16'],
  ['utf16', 'process command lines are never UTF-16'],
  ['wide', 'process command lines are never UTF-16'],
  ['expand', 'placeholders need a value list: match the field against a named list in a DaemonEye rule instead'],
  ['minute', 'time modifiers need event timestamps a process_creation field does not hold'],
  ['hour', 'time modifiers need event timestamps a process_creation field does not hold'],
  ['day', 'time modifiers need event timestamps a process_creation field does not hold'],
  ['week', 'time modifiers need event timestamps a process_creation field does not hold'],
  ['month', 'time modifiers need event timestamps a process_creation field does not hold'],
  ['year', 'time modifiers need event timestamps a process_creation field does not hold'],
]);

interface Context {
  readonly usesParent: {value: boolean};
}

function columnOf(mapping: SigmaFieldMapping, context: Context): string {
  if (mapping.row === 'parent') context.usesParent.value = true;
  return `${ROW_ALIAS[mapping.row]}.${mapping.column}`;
}

function mappingOf(field: string, path: YamlPath): SigmaFieldMapping {
  const mapping = SIGMA_PROCESS_CREATION_FIELDS[field];
  if (mapping === undefined) {
    throw new SigmaCompileError(
      `field ${field} has no mapping for linux process_creation (mapped: ${Object.keys(SIGMA_PROCESS_CREATION_FIELDS).join(', ')})`,
      path,
    );
  }
  return mapping;
}

type Scalar = string | number | boolean | null;

function scalarsOf(value: unknown, path: YamlPath): Scalar[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new SigmaCompileError('an empty list of values matches nothing; remove the field or give a value', path);
  return list.map((item, index) => {
    if (item === null || typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') return item;
    throw new SigmaCompileError(
      'a field value must be a string, a number, a boolean or null, not a list or map',
      Array.isArray(value) ? [...path, index] : path,
    );
  });
}

/** One `Field|mod|mod: value(s)` entry of a selection, as a SQL predicate (true or false, never NULL). */
export function compileFieldCondition(key: string, value: unknown, path: YamlPath, context: Context = {usesParent: {value: false}}): string {
  const [field = '', ...modifiers] = key.split('|');
  if (field === '') throw new SigmaCompileError('a key with modifiers but no field is a keyword search, which needs whole events: not supported', path);
  for (const modifier of modifiers) {
    const refused = REFUSED_MODIFIERS.get(modifier);
    if (refused !== undefined) throw new SigmaCompileError(`modifier ${modifier} is not supported: ${refused}`, path);
    if (!MODIFIERS.has(modifier)) throw new SigmaCompileError(`modifier ${modifier} is not a Sigma modifier`, path);
  }
  const mapping = mappingOf(field, path);
  const column = columnOf(mapping, context);
  const has = (m: string): boolean => modifiers.includes(m);
  const values = scalarsOf(value, path);
  const all = has('all');
  if (all && values.length < 2)
    throw new SigmaCompileError('modifier all needs a list of two or more values (specification: not allowed on a single value)', path);
  const combine = all ? andAll : orAll;

  if (has('cidr')) throw new SigmaCompileError(`modifier cidr is not supported: ${field} is not an IP address field`, path);

  if (has('exists')) {
    if (modifiers.length !== 1 || values.length !== 1 || typeof values[0] !== 'boolean')
      throw new SigmaCompileError('modifier exists takes true or false and no other modifier', path);
    return values[0] ? `${column} IS NOT NULL` : `${column} IS NULL`;
  }

  const nulls = values.filter((v) => v === null);
  if (nulls.length > 0) {
    if (values.length > 1 || modifiers.length > 0)
      throw new SigmaCompileError('null stands alone: not in a list and without modifiers (specification, "Special Field Values")', path);
    return `${column} IS NULL`;
  }

  const numeric = ['lt', 'lte', 'gt', 'gte'].filter(has);
  if (mapping.type === 'integer' || numeric.length > 0) {
    if (mapping.type !== 'integer') throw new SigmaCompileError(`modifier ${numeric[0] ?? ''} needs a numeric field; ${field} is text`, path);
    const allowed = new Set(['all', 'neq', 'lt', 'lte', 'gt', 'gte']);
    const other = modifiers.find((m) => !allowed.has(m));
    if (other !== undefined) throw new SigmaCompileError(`modifier ${other} does not apply to ${field}, a number`, path);
    if (numeric.length > 1 || (numeric.length === 1 && has('neq'))) throw new SigmaCompileError('give one comparison modifier per field', path);
    const op = {lt: '<', lte: '<=', gt: '>', gte: '>='}[numeric[0] ?? ''] ?? (has('neq') ? '<>' : '=');
    const numbers = values.map((v, index) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n))
        throw new SigmaCompileError(`${field} holds whole numbers; ${JSON.stringify(v)} is not one`, values.length > 1 ? [...path, index] : path);
      return n;
    });
    const parts = numbers.map((n) => `${column} ${op} ${n}`);
    return `(${column} IS NOT NULL AND ${has('neq') ? andAll(parts) : combine(parts)})`;
  }

  const strings = values.map((v, index) => {
    if (typeof v === 'boolean')
      throw new SigmaCompileError(`${field} holds text; ${String(v)} is a boolean (quote it to match the word)`, values.length > 1 ? [...path, index] : path);
    return String(v);
  });
  const cased = has('cased');

  if (has('re')) {
    const flags = ['i', 'm', 's'].filter(has);
    const other = modifiers.find((m) => !['re', 'i', 'm', 's', 'all'].includes(m));
    if (other !== undefined) throw new SigmaCompileError(`modifier ${other} cannot be combined with re`, path);
    const parts = strings.map((source, index) => {
      // The rule workers match on RE2 (linear time): what it cannot run is refused here, by construct.
      const problem = checkRegex(source, flags.join(''));
      if (problem !== null) throw new SigmaCompileError(`regular expression '${source}': ${problem.message}`, values.length > 1 ? [...path, index] : path);
      return flags.length === 0 ? `${column} REGEXP ${sqlString(source)}` : `regexp_flags(${sqlString(source)}, ${sqlString(flags.join(''))}, ${column})`;
    });
    return `(${column} IS NOT NULL AND ${combine(parts)})`;
  }
  const stray = ['i', 'm', 's'].find(has);
  if (stray !== undefined) throw new SigmaCompileError(`modifier ${stray} is a flag of re and needs re before it`, path);

  const position = ['contains', 'startswith', 'endswith'].filter(has);
  if (position.length > 1) throw new SigmaCompileError(`modifiers ${position.join(' and ')} cannot be combined`, path);

  if (has('fieldref')) {
    const other = modifiers.find((m) => !['fieldref', 'contains', 'startswith', 'endswith', 'cased', 'all', 'neq'].includes(m));
    if (other !== undefined) throw new SigmaCompileError(`modifier ${other} cannot be combined with fieldref`, path);
    const parts = strings.map((name, index) => {
      const target = mappingOf(name, values.length > 1 ? [...path, index] : path);
      if (target.type !== 'text') throw new SigmaCompileError(`fieldref to ${name}, a number, is not supported on text field ${field}`, path);
      const other = columnOf(target, context);
      const a = cased ? column : `casefold(${column})`;
      const b = cased ? other : `casefold(${other})`;
      const compare =
        position[0] === 'contains'
          ? `instr(${a}, ${b}) > 0`
          : position[0] === 'startswith'
            ? `substr(${a}, 1, length(${b})) = ${b}`
            : position[0] === 'endswith'
              ? `(length(${a}) >= length(${b}) AND substr(${a}, length(${a}) - length(${b}) + 1) = ${b})`
              : `${a} = ${b}`;
      return `(${other} IS NOT NULL AND ${has('neq') ? `NOT (${compare})` : compare})`;
    });
    return `(${column} IS NOT NULL AND ${has('neq') ? andAll(parts) : combine(parts)})`;
  }

  // Transformations in the order written, then the position modifiers (which add wildcards).
  let patterns: Pattern[] = strings.map((s) => parseSigmaString(s));
  for (const modifier of modifiers) {
    if (modifier === 'base64' || modifier === 'base64offset') {
      patterns = patterns.flatMap((pattern) => {
        if (hasWildcards(pattern)) throw new SigmaCompileError(`modifier ${modifier} cannot encode a value with wildcards (* or ?)`, path);
        const encoded = modifier === 'base64' ? [base64(Buffer.from(plainText(pattern), 'utf8'))] : base64Offsets(plainText(pattern));
        return encoded.map((text): Pattern => [{kind: 'text', text}]);
      });
      if (modifier === 'base64offset' && all)
        throw new SigmaCompileError('modifier all with base64offset is not supported: each value becomes three alternatives', path);
    } else if (modifier === 'windash') patterns = patterns.map(windash);
  }
  const placed = patterns.map((pattern): Pattern => {
    const star: Piece = {kind: 'star'};
    const startsWithStar = pattern[0]?.kind === 'star';
    const endsWithStar = pattern[pattern.length - 1]?.kind === 'star';
    if (position[0] === 'contains') return [...(startsWithStar ? [] : [star]), ...pattern, ...(endsWithStar ? [] : [star])];
    if (position[0] === 'startswith') return [...pattern, ...(endsWithStar ? [] : [star])];
    if (position[0] === 'endswith') return [...(startsWithStar ? [] : [star]), ...pattern];
    return pattern;
  });
  // base64offset turns each value into three alternatives: OR within a value.
  const perValue = has('base64offset')
    ? chunk(placed, 3).map((alternatives) => orAll(alternatives.map((p) => matchSql(column, p, cased))))
    : placed.map((p) => matchSql(column, p, cased));
  const matched = has('neq') ? andAll(perValue.map((p) => `NOT (${p})`)) : combine(perValue);
  return `(${column} IS NOT NULL AND ${matched})`;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Selections and the condition.

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function compileMap(map: Record<string, unknown>, path: YamlPath, context: Context): string {
  const keys = Object.keys(map);
  if (keys.length === 0) throw new SigmaCompileError('an empty selection matches everything; give at least one field', path);
  return andAll(keys.map((key) => compileFieldCondition(key, map[key], [...path, key], context)));
}

/** A search identifier's definition: a map (AND of its fields) or a list of maps (OR); plain lists are keywords. */
function compileSearch(name: string, definition: unknown, context: Context): string {
  const path = ['detection', name];
  if (isMap(definition)) return compileMap(definition, path, context);
  if (Array.isArray(definition) && definition.length > 0 && definition.every(isMap))
    return orAll(definition.map((item, index) => compileMap(item as Record<string, unknown>, [...path, index], context)));
  throw new SigmaCompileError(`${name} is a keyword search (plain values, no field): not supported, a snapshot has no whole event text to search`, path);
}

function compileCondition(node: ConditionNode, searches: ReadonlyMap<string, string>, path: YamlPath): string {
  switch (node.kind) {
    case 'ref': {
      const sql = searches.get(node.name);
      if (sql === undefined) throw new SigmaCompileError(`the condition names ${node.name}, which the detection does not define`, path);
      return sql;
    }
    case 'not':
      return `NOT ${compileCondition(node.operand, searches, path)}`;
    case 'and':
    case 'or':
      return `(${node.operands.map((o) => compileCondition(o, searches, path)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'of': {
      const names = [...searches.keys()].filter((name) => (node.pattern === null ? !name.startsWith('_') : identifierMatches(node.pattern, name)));
      if (names.length === 0) throw new SigmaCompileError(`"${node.pattern ?? 'them'}" matches no search identifier`, path);
      const parts = names.map((name) => searches.get(name) as string);
      return node.quantifier === 'one' ? orAll(parts) : andAll(parts);
    }
  }
}

export interface SigmaRuleSource {
  readonly id: string;
  readonly logsource: unknown;
  readonly detection: unknown;
}

/** The compiled query, and whether it reads the parent row. */
export interface SigmaCompilation {
  readonly sql: string;
  readonly usesParent: boolean;
}

function checkLogsource(logsource: unknown): void {
  if (!isMap(logsource)) throw new SigmaCompileError('logsource must be a map (product:, category:)', ['logsource']);
  const {product, category, service} = logsource;
  const supported = SIGMA_LOGSOURCES.some((s) => s.product === product && s.category === category);
  if (!supported || service !== undefined) {
    const what = Object.entries(logsource)
      .filter(([key]) => ['product', 'category', 'service'].includes(key))
      .map(([key, v]) => `${key} ${String(v)}`)
      .join(', ');
    throw new SigmaCompileError(
      `logsource ${what || '(empty)'} is not supported: a snapshot answers ${SIGMA_LOGSOURCES.map((s) => `product ${s.product}, category ${s.category}`).join('; ')}`,
      ['logsource'],
    );
  }
}

/**
 * Compile a Sigma rule's detection to one SELECT over `processes` (alias p; its parent row, when a Parent*
 * field is used, LEFT JOINed as `parent` on ppid within the same scan). Kernel threads are left out: they are
 * never created by exec, so no process_creation event describes them. Every compiled rule also skips the
 * processes its entries in the named list `sigma_allow` allow. Throws SigmaCompileError.
 */
export function compileSigmaRule(rule: SigmaRuleSource): SigmaCompilation {
  checkLogsource(rule.logsource);
  const detection = rule.detection;
  if (!isMap(detection)) throw new SigmaCompileError('detection must be a map of search identifiers and a condition', ['detection']);
  if ('timeframe' in detection)
    throw new SigmaCompileError('timeframe is not supported: it needs events over time, a snapshot has none', ['detection', 'timeframe']);
  const context: Context = {usesParent: {value: false}};
  const searches = new Map<string, string>();
  for (const [name, definition] of Object.entries(detection)) {
    if (name === 'condition') continue;
    searches.set(name, compileSearch(name, definition, context));
  }
  const raw = detection.condition;
  const conditions = Array.isArray(raw) ? raw : [raw];
  if (raw === undefined || conditions.length === 0) throw new SigmaCompileError('detection has no condition', ['detection']);
  const compiled = conditions.map((condition, index) => {
    const path = Array.isArray(raw) ? ['detection', 'condition', index] : ['detection', 'condition'];
    if (typeof condition !== 'string') throw new SigmaCompileError('a condition is a string', path);
    let tree: ConditionNode;
    try {
      tree = parseCondition(condition);
    } catch (error) {
      if (error instanceof ConditionError) throw new SigmaCompileError(`condition: ${error.message}`, path);
      throw error;
    }
    return compileCondition(tree, searches, path);
  });
  const condition = orAll(compiled);
  const usesParent = context.usesParent.value;
  const id = sqlString(`${rule.id}:`);
  const columns = ['p.pid', 'p.ppid', 'p.name', 'p.executable_path', 'p.cmdline', 'p.user_name', 'p.cwd'];
  if (usesParent) columns.push('parent.executable_path AS parent_executable_path', 'parent.cmdline AS parent_cmdline');
  const sql = [
    `SELECT ${columns.join(', ')}`,
    'FROM processes AS p',
    ...(usesParent ? ['LEFT JOIN processes AS parent ON parent.pid = p.ppid AND parent.scan_id = p.scan_id'] : []),
    'WHERE coalesce(p.kernel_thread, 0) = 0',
    `  AND ${condition}`,
    `  AND NOT EXISTS (SELECT 1 FROM list_${SIGMA_ALLOW_LIST} a`,
    `    WHERE (substr(a.value, 1, ${[...`${rule.id}:`].length}) = ${id} OR substr(a.value, 1, 2) = '*:')`,
    `      AND p.cmdline LIKE substr(a.value, instr(a.value, ':') + 1))`,
  ].join('\n');
  return {sql, usesParent};
}
