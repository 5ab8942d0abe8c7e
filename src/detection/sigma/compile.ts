// The Sigma compiler: a Sigma rule's detection (Sigma rules specification v2 and its modifiers appendix,
// https://github.com/SigmaHQ/sigma-specification) to one SQLite SELECT over the snapshot table its
// logsource maps to, in the SQL the rule validator accepts. What cannot be compiled exactly is refused with
// the reason and the YAML path it concerns; a rule is never loosened. docs/sigma.md describes the
// semantics. Stages: the logsource mapping (fields.ts: table, joins, fields), values as patterns
// (pattern.ts), the modifier registry (modifiers.ts: checked and applied here), SQL rendering (sql.ts).
import type {YamlPath} from '../rule-source.js';
import {parseCidr} from '../cidr.js';
import {checkRegex} from '../regex.js';
import {ConditionError, type ConditionNode, excerpt, identifierMatches, parseCondition} from './condition.js';
import {parseSigmaString, type Pattern} from './pattern.js';
import {andAll, matchSql, orAll, sqlString} from './sql.js';
import {SIGMA_LOGSOURCES, type SigmaFieldMapping, type SigmaFieldType, type SigmaLogsourceMapping} from './fields.js';
import {isRefused, place, type SigmaMatcher, sigmaModifier, SigmaModifierError, type SigmaModifierEntry} from './modifiers.js';

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
// Field conditions: check the modifiers against the registry (modifiers.ts), pick the matcher, render.

interface Context {
  readonly logsource: SigmaLogsourceMapping;
  /** The row aliases the rule's fields read (a `whenUsed` join is added only for these). */
  readonly rows: Set<string>;
}

const logsourceName = (l: SigmaLogsourceMapping): string => `${l.product} ${l.category}`;

function mappingOf(field: string, path: YamlPath, context: Context): SigmaFieldMapping {
  const {logsource} = context;
  const mapping = logsource.fields[field];
  if (mapping !== undefined) return mapping;
  const reason = logsource.unanswerable[field];
  if (reason !== undefined) throw new SigmaCompileError(`field ${field} is not supported for ${logsourceName(logsource)}: ${reason}`, path);
  throw new SigmaCompileError(`field ${field} has no mapping for ${logsourceName(logsource)} (mapped: ${Object.keys(logsource.fields).join(', ')})`, path);
}

/** The SQL of a mapped field's value, noting the row it reads. */
function columnOf(mapping: SigmaFieldMapping, context: Context): string {
  context.rows.add(mapping.row);
  return mapping.sql.replaceAll('{row}', mapping.row);
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

/** The registry entries of a key's modifiers; throws for a refused or unknown one, or one written twice (a transform may repeat: base64|base64 encodes twice). */
function modifiersOf(names: readonly string[], path: YamlPath): SigmaModifierEntry[] {
  return names.map((name, index) => {
    const modifier = sigmaModifier(name);
    if (modifier === undefined) throw new SigmaCompileError(`modifier ${name} is not a Sigma modifier`, path);
    if (isRefused(modifier)) throw new SigmaCompileError(`modifier ${name} is not supported: ${modifier.refused}`, path);
    if (modifier.role !== 'transform' && names.indexOf(name) !== index) throw new SigmaCompileError(`modifier ${name} is written twice`, path);
    return modifier;
  });
}

/** A modifier that cannot apply to the field's type, with the refusal's wording for that type. */
function typeProblem(modifier: SigmaModifierEntry, field: string, type: SigmaFieldType): string {
  if (modifier.matcher === 'cidr') return `modifier cidr is not supported: ${field} is not an IP address field`;
  if (modifier.matcher === 'compare') return `modifier ${modifier.name} needs a numeric field; ${field} is text`;
  return type === 'integer' ? `modifier ${modifier.name} does not apply to ${field}, a number` : `modifier ${modifier.name} does not apply to ${field}`;
}

/** A modifier that cannot go with the matcher, with the refusal's wording for that matcher. */
function comboProblem(modifier: SigmaModifierEntry, matcher: SigmaMatcher, field: string): string {
  if (modifier.role === 'flag') return `modifier ${modifier.name} is a flag of re and needs re before it`;
  if (matcher === 'compare') return `modifier ${modifier.name} does not apply to ${field}, a number`;
  return `modifier ${modifier.name} cannot be combined with ${matcher === 'regex' ? 're' : matcher}`;
}

const SQL_COMPARE: Readonly<Record<string, string>> = {lt: '<', lte: '<=', gt: '>', gte: '>='};

/** One `Field|mod|mod: value(s)` entry of a selection, as a SQL predicate (true or false, never NULL). */
function compileFieldCondition(key: string, value: unknown, path: YamlPath, context: Context): string {
  const [field = '', ...names] = key.split('|');
  if (field === '') throw new SigmaCompileError('a key with modifiers but no field is a keyword search, which needs whole events: not supported', path);
  const modifiers = modifiersOf(names, path);
  const mapping = mappingOf(field, path, context);
  const column = columnOf(mapping, context);
  const has = (name: string): boolean => names.includes(name);
  const values = scalarsOf(value, path);
  const at = (index: number): YamlPath => (values.length > 1 ? [...path, index] : path);
  const all = has('all');
  if (all && values.length < 2)
    throw new SigmaCompileError('modifier all needs a list of two or more values (specification: not allowed on a single value)', path);
  const combine = all ? andAll : orAll;
  const negated = has('neq');
  const present = (matched: string): string => `(${column} IS NOT NULL AND ${matched})`;

  const misfit = modifiers.find((m) => !m.fields.includes(mapping.type));
  if (misfit !== undefined) throw new SigmaCompileError(typeProblem(misfit, field, mapping.type), path);

  if (has('exists')) {
    if (modifiers.length !== 1 || values.length !== 1 || typeof values[0] !== 'boolean')
      throw new SigmaCompileError('modifier exists takes true or false and no other modifier', path);
    return values[0] ? `${column} IS NOT NULL` : `${column} IS NULL`;
  }
  if (values.some((v) => v === null)) {
    if (values.length > 1 || modifiers.length > 0)
      throw new SigmaCompileError('null stands alone: not in a list and without modifiers (specification, "Special Field Values")', path);
    return `${column} IS NULL`;
  }

  // The matcher: the one a modifier selects, else a pattern (text) or an equality (numbers).
  const selecting = modifiers.filter((m) => m.role === 'matcher');
  if (selecting.length > 1) {
    const [first, second] = selecting as [SigmaModifierEntry, SigmaModifierEntry];
    throw new SigmaCompileError(
      first.matcher === 'compare' && second.matcher === 'compare'
        ? 'give one comparison modifier per field'
        : `modifier ${second.name} cannot be combined with ${first.name}`,
      path,
    );
  }
  const matcher: SigmaMatcher = selecting[0]?.matcher ?? (mapping.type === 'integer' ? 'compare' : 'pattern');
  const stray = modifiers.find((m) => m.role !== 'matcher' && !(m.with ?? []).includes(matcher));
  if (stray !== undefined) throw new SigmaCompileError(comboProblem(stray, matcher, field), path);

  if (matcher === 'compare') {
    if (selecting.length === 1 && negated) throw new SigmaCompileError('give one comparison modifier per field', path);
    const op = SQL_COMPARE[selecting[0]?.name ?? ''] ?? (negated ? '<>' : '=');
    const parts = values.map((v, index) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n)) throw new SigmaCompileError(`${field} holds whole numbers; ${JSON.stringify(v)} is not one`, at(index));
      return `${column} ${op} ${n}`;
    });
    return present(negated ? andAll(parts) : combine(parts));
  }

  const strings = values.map((v, index) => {
    if (typeof v === 'boolean') throw new SigmaCompileError(`${field} holds text; ${String(v)} is a boolean (quote it to match the word)`, at(index));
    return String(v);
  });
  const cased = has('cased');
  const positions = modifiers.filter((m) => m.role === 'position');
  if (positions.length > 1) throw new SigmaCompileError(`modifiers ${positions.map((m) => m.name).join(' and ')} cannot be combined`, path);
  const position = positions[0]?.position;

  switch (matcher) {
    case 'regex': {
      const flags = ['i', 'm', 's'].filter(has).join('');
      const parts = strings.map((source, index) => {
        // The rule workers match on RE2 (linear time): what it cannot run is refused here, by construct.
        const problem = checkRegex(source, flags);
        if (problem !== null) throw new SigmaCompileError(`regular expression '${source}': ${problem.message}`, at(index));
        return flags === '' ? `${column} REGEXP ${sqlString(source)}` : `regexp_flags(${sqlString(source)}, ${sqlString(flags)}, ${column})`;
      });
      return present(combine(parts));
    }
    case 'cidr': {
      const parts = strings.map((text, index) => {
        const network = parseCidr(text);
        if (typeof network === 'string') throw new SigmaCompileError(`modifier cidr: ${network}`, at(index));
        return `cidr_match(${sqlString(text)}, ${column}) = 1`;
      });
      return present(negated ? andAll(parts.map((p) => `NOT (${p})`)) : combine(parts));
    }
    case 'fieldref': {
      const parts = strings.map((name, index) => {
        const target = mappingOf(name, at(index), context);
        if (target.type === 'integer') throw new SigmaCompileError(`fieldref to ${name}, a number, is not supported on text field ${field}`, path);
        const other = columnOf(target, context);
        const a = cased ? column : `casefold(${column})`;
        const b = cased ? other : `casefold(${other})`;
        const compare =
          position === 'contains'
            ? `instr(${a}, ${b}) > 0`
            : position === 'startswith'
              ? `substr(${a}, 1, length(${b})) = ${b}`
              : position === 'endswith'
                ? `(length(${a}) >= length(${b}) AND substr(${a}, length(${a}) - length(${b}) + 1) = ${b})`
                : `${a} = ${b}`;
        return `(${other} IS NOT NULL AND ${negated ? `NOT (${compare})` : compare})`;
      });
      return present(negated ? andAll(parts) : combine(parts));
    }
    case 'exists':
    case 'pattern':
      break;
  }

  // Transformations in the order written (each value to its alternatives), then the position's wildcards.
  const offsets = has('base64offset');
  if (offsets && all) throw new SigmaCompileError('modifier all with base64offset is not supported: each value becomes three alternatives', path);
  const perValue = strings.map((text) => {
    let alternatives: Pattern[] = [parseSigmaString(text)];
    for (const modifier of modifiers) {
      const transform = modifier.transform;
      if (transform === undefined) continue;
      try {
        alternatives = alternatives.flatMap((pattern) => transform(pattern));
      } catch (error) {
        if (error instanceof SigmaModifierError) throw new SigmaCompileError(error.message, path);
        throw error;
      }
    }
    return orAll(alternatives.map((pattern) => matchSql(column, place(pattern, position), cased)));
  });
  return present(negated ? andAll(perValue.map((p) => `NOT (${p})`)) : combine(perValue));
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
      if (sql === undefined) throw new SigmaCompileError(`the condition names ${excerpt(node.name)}, which the detection does not define`, path);
      return sql;
    }
    case 'not':
      return `NOT ${compileCondition(node.operand, searches, path)}`;
    case 'and':
    case 'or':
      return `(${node.operands.map((o) => compileCondition(o, searches, path)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'of': {
      const names = [...searches.keys()].filter((name) => (node.pattern === null ? !name.startsWith('_') : identifierMatches(node.pattern, name)));
      if (names.length === 0) throw new SigmaCompileError(`"${excerpt(node.pattern ?? 'them')}" matches no search identifier`, path);
      const parts = names.map((name) => searches.get(name) as string);
      return node.quantifier === 'one' ? orAll(parts) : andAll(parts);
    }
  }
}

/** The longest search identifier (selection name) read, in characters; SigmaHQ's are under 60. */
export const MAX_IDENTIFIER_LENGTH = 256;

export interface SigmaRuleSource {
  readonly id: string;
  readonly logsource: unknown;
  readonly detection: unknown;
}

/** The compiled query, and the logsource mapping it was compiled with. */
export interface SigmaCompilation {
  readonly sql: string;
  readonly logsource: SigmaLogsourceMapping;
}

/** The mapping of a rule's logsource (product and category; a `service` is refused). Throws SigmaCompileError. */
function logsourceOf(logsource: unknown): SigmaLogsourceMapping {
  if (!isMap(logsource)) throw new SigmaCompileError('logsource must be a map (product:, category:)', ['logsource']);
  const {product, category, service} = logsource;
  const mapping = SIGMA_LOGSOURCES.find((s) => s.product === product && s.category === category);
  if (mapping === undefined || service !== undefined) {
    const what = Object.entries(logsource)
      .filter(([key]) => ['product', 'category', 'service'].includes(key))
      .map(([key, v]) => `${key} ${String(v)}`)
      .join(', ');
    throw new SigmaCompileError(
      `logsource ${what || '(empty)'} is not supported: a snapshot answers ${SIGMA_LOGSOURCES.map((s) => `product ${s.product}, category ${s.category}`).join('; ')}`,
      ['logsource'],
    );
  }
  return mapping;
}

/**
 * Compile a Sigma rule's detection to one SELECT over its logsource's table (fields.ts): for
 * process_creation the `processes` row (alias p; its parent, when a Parent* field is used, LEFT JOINed as
 * `parent` on ppid within the same scan), for network_connection each socket with a peer (alias s) joined to
 * its process. Kernel threads are left out: no exec creates them and they hold no sockets. Every compiled
 * rule also skips the processes its entries in the named list `sigma_allow` allow. Throws SigmaCompileError.
 */
export function compileSigmaRule(rule: SigmaRuleSource): SigmaCompilation {
  const logsource = logsourceOf(rule.logsource);
  const detection = rule.detection;
  if (!isMap(detection)) throw new SigmaCompileError('detection must be a map of search identifiers and a condition', ['detection']);
  if ('timeframe' in detection)
    throw new SigmaCompileError('timeframe is not supported: it needs events over time, a snapshot has none', ['detection', 'timeframe']);
  const context: Context = {logsource, rows: new Set()};
  const searches = new Map<string, string>();
  for (const [name, definition] of Object.entries(detection)) {
    if (name === 'condition') continue;
    if (name.length > MAX_IDENTIFIER_LENGTH)
      throw new SigmaCompileError(`the search identifier "${excerpt(name)}" is ${name.length} characters long; at most ${MAX_IDENTIFIER_LENGTH} are read`, [
        'detection',
        name,
      ]);
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
  const joins = logsource.joins.filter((join) => !join.whenUsed || context.rows.has(join.alias));
  const id = sqlString(`${rule.id}:`);
  const process = logsource.process;
  const sql = [
    `SELECT ${[...logsource.columns, ...joins.flatMap((join) => join.columns)].join(', ')}`,
    `FROM ${logsource.from.table} AS ${logsource.from.alias}`,
    ...joins.map((join) => `${join.kind} ${join.table} AS ${join.alias} ON ${join.on}`),
    `WHERE ${logsource.where.join(' AND ')}`,
    `  AND ${condition}`,
    `  AND NOT EXISTS (SELECT 1 FROM list_${SIGMA_ALLOW_LIST} a`,
    `    WHERE (substr(a.value, 1, ${[...`${rule.id}:`].length}) = ${id} OR substr(a.value, 1, 2) = '*:')`,
    `      AND ${process}.cmdline LIKE substr(a.value, instr(a.value, ':') + 1))`,
  ].join('\n');
  return {sql, logsource};
}
