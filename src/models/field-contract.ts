// The field contract: one name, one unit and one JSON type for each field that more than one command or
// sink emits, so a record from `scan`, `detect`, `query`, `export`, `diff`, `scan --tree`, `collect` or a
// sink joins with any other by the same key in jq, a SIEM or a data lake. Names follow osquery's tables
// where they exist (pid, uid, cmdline, start_time …) and ECS's units (times in epoch milliseconds are
// `*_time`/`*_at`, durations `*_ms`). docs/fields.md is rendered from this module, and
// test/commands/field-contract.test.ts runs every command and checks its output against it.

/** A JSON type as it appears in output (`integer`: a number with no fraction). */
export type FieldType = 'integer' | 'number' | 'string' | 'boolean' | 'array' | 'object';

export interface FieldRule {
  readonly type: FieldType;
  /** The unit of a number, or the form of a string (`epoch ms`, `bytes`, `lower-case hex` …). */
  readonly unit?: string;
  readonly description: string;
}

/** Fields by exact name. Null is always allowed (a value not known); when present, the type is this one. */
export const FIELD_CONTRACT: Readonly<Record<string, FieldRule>> = {
  pid: {type: 'integer', description: 'Process id'},
  ppid: {type: 'integer', description: 'Parent process id'},
  uid: {type: 'integer', description: 'Real user id (Linux)'},
  euid: {type: 'integer', description: 'Effective user id'},
  gid: {type: 'integer', description: 'Real group id'},
  egid: {type: 'integer', description: 'Effective group id'},
  user_name: {type: 'string', description: "Name of the process's real user (never `user`)"},
  user_id: {
    type: 'string',
    description:
      'The owner as the platform-neutral process record gives it (text: a numeric uid here, a SID elsewhere); on Linux the same value as `uid`, which is the integer to compare',
  },
  name: {type: 'string', description: 'Process name (comm), or the name of the record'},
  executable_path: {type: 'string', description: 'Path of the executable (exact bytes, in the one text form of docs/schema.md)'},
  executable_hash: {type: 'string', unit: 'lower-case hex', description: 'Digest of the executable, by `hash_algorithm`'},
  command_line: {type: 'array', description: 'argv: one string per argument, exactly'},
  cmdline: {type: 'string', description: "argv joined by single spaces (osquery's `cmdline`), for reading; `command_line` is exact"},
  start_ticks: {type: 'integer', unit: 'clock ticks since boot', description: 'Field 22 of /proc/PID/stat: with the boot id, the identity of a process'},
  entity_id: {type: 'string', unit: 'lower-case hex', description: 'Stable process identity across scans (boot id, pid, start ticks)'},
  scan_id: {type: 'integer', description: 'The scan a record belongs to (epoch ms × 1000 + a counter)'},
  rule_id: {type: 'string', description: 'Id of a detection rule'},
  severity: {type: 'string', description: '`critical`, `high`, `medium`, `low` or `informational`'},
  host: {type: 'object', description: 'The host a record comes from: id, hostname, boot_id, os, kernel, arch, decorations'},
  hostname: {type: 'string', description: 'Host name'},
  boot_id: {type: 'string', description: 'Boot id (/proc/sys/kernel/random/boot_id)'},
  port: {type: 'integer', description: 'A port number'},
  local_port: {type: 'integer', description: 'Local port of a socket'},
  remote_port: {type: 'integer', description: 'Remote port of a socket'},
  protocol: {type: 'integer', description: 'IP protocol number (6 TCP, 17 UDP, …)'},
  cpu_usage: {type: 'number', unit: 'percent of one CPU', description: 'CPU use over the process lifetime'},
  memory_usage: {type: 'integer', unit: 'bytes', description: 'Resident memory'},
  affected_processes: {type: 'array', description: 'Pids an alert names'},
};

/** Fields by suffix, for the names the exact table does not hold. */
export const FIELD_SUFFIXES: readonly (readonly [suffix: string, rule: FieldRule])[] = [
  ['_time', {type: 'integer', unit: 'epoch ms', description: 'A point in time (start_time, alert_time, collection_time …)'}],
  ['_at', {type: 'integer', unit: 'epoch ms', description: 'A point in time (checked_at, created_at …)'}],
  ['_ms', {type: 'integer', unit: 'milliseconds', description: 'A duration (rule_execution_time_ms, elapsed_ms …)'}],
  ['_bytes', {type: 'integer', unit: 'bytes', description: 'A size'}],
];

/**
 * Names that say the same thing as a contract field in another shape: never emitted, except inside the
 * envelope of `diff --format osquery`, which is osquery's differential log format word for word.
 */
export const RETIRED_FIELDS: Readonly<Record<string, string>> = {
  user: 'user_name',
  unixTime: 'collection_time (epoch ms)',
  calendarTime: 'collection_time (epoch ms)',
  hostIdentifier: 'host.hostname',
  username: 'user_name',
  ppid_name: 'parent_name',
  timestamp: 'a `*_time` field (epoch ms)',
};

/** Keys under these hold data (labels, environment names, counts by kind), not fields: not checked. */
const DATA_KEYED = new Set(['decorations', 'labels', 'counts', 'alerts_by_severity', 'environ', 'details']);

/** The rule a field name falls under, if any. */
export function fieldRule(name: string): FieldRule | undefined {
  return FIELD_CONTRACT[name] ?? FIELD_SUFFIXES.find(([suffix]) => name.endsWith(suffix))?.[1];
}

function jsonType(value: unknown): FieldType | 'null' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as FieldType;
}

/**
 * Every place `value` (a parsed JSON document) breaks the contract, as `path: problem` lines: a field of
 * the wrong type (an `integer` also satisfies `number`), a time that is not epoch milliseconds (before
 * 2001-09-09, i.e. seconds), or a retired name. Walks objects and arrays to any depth; keys under
 * data-keyed objects (`decorations`, `counts`, …) are data, not fields.
 */
export function contractViolations(value: unknown, path = '$'): string[] {
  const problems: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, `${at}[${index}]`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      const here = `${at}.${key}`;
      const retired = RETIRED_FIELDS[key];
      if (retired !== undefined) problems.push(`${here}: \`${key}\` is not a contract name: use ${retired}`);
      const rule = fieldRule(key);
      const type = jsonType(child);
      if (rule !== undefined && type !== 'null') {
        const fits = type === rule.type || (rule.type === 'number' && type === 'integer');
        if (!fits)
          problems.push(
            `${here}: ${type} ${JSON.stringify(child).slice(0, 60)}, the contract says ${rule.type}${rule.unit === undefined ? '' : ` (${rule.unit})`}`,
          );
        else if (rule.unit === 'epoch ms' && (child as number) !== 0 && Math.abs(child as number) < 1e12)
          problems.push(`${here}: ${String(child)} looks like seconds, the contract says epoch ms`);
      }
      if (!DATA_KEYED.has(key)) walk(child, here);
    }
  };
  walk(value, path);
  return problems;
}

/** docs/fields.md: the contract as a reference page (rendered by `npm run docs`). */
export function renderFieldsDoc(): string {
  const row = (name: string, rule: FieldRule): string => `| \`${name}\` | ${rule.type} | ${rule.unit ?? ''} | ${rule.description} |`;
  return [
    '<!-- Generated from src/models/field-contract.ts by `npm run docs`; do not edit. -->',
    '# Field contract',
    '',
    'One name, one unit and one JSON type for every field that more than one command or sink emits: `scan`,',
    '`detect` (every format and sink), `query`, `export`, `diff`, `scan --tree`, `collect` (manifest,',
    '`sockets.json`, `mapped.json`), `health`, `audit show`. A field may be null (not known); when it has a',
    'value, it has this type. `test/commands/field-contract.test.ts` runs each command and checks its output.',
    '',
    '| field | type | unit | meaning |',
    '| --- | --- | --- | --- |',
    ...Object.entries(FIELD_CONTRACT).map(([name, rule]) => row(name, rule)),
    '',
    '## By suffix',
    '',
    '| suffix | type | unit | meaning |',
    '| --- | --- | --- | --- |',
    ...FIELD_SUFFIXES.map(([suffix, rule]) => row(`*${suffix}`, rule)),
    '',
    '## Names not used',
    '',
    'These say the same as a contract field in another shape and are never emitted, except in the envelope of',
    "`diff --format osquery`, which is osquery's differential log format word for word (its `columns` follow",
    'the contract):',
    '',
    '| name | use instead |',
    '| --- | --- |',
    ...Object.entries(RETIRED_FIELDS).map(([name, instead]) => `| \`${name}\` | ${instead} |`),
    '',
    '## Outside the contract',
    '',
    '- Formats that are another schema word for word: ECS (`--format ecs`), OCSF (`--format ocsf`), the',
    "  osquery differential envelope (`diff --format osquery`), syslog (RFC 5424) and Prometheus' text format",
    '  (`--metrics-file`: durations in seconds, as Prometheus names them).',
    '- Result rows a rule returns (`alert_data.processes`) carry the columns the rule selects; the built-in',
    '  rules select contract names, and a test holds them to it.',
    '- Log lines on stderr (`--log-format json`) carry `time` as RFC 3339 text, as log shippers expect.',
    "- `id` is a record's own key: a UUID for a process or an alert, the scan id for a `scans` row.",
    '',
  ].join('\n');
}
