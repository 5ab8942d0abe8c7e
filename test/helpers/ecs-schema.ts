// Checks a document against ECS's own generated field list (test/fixtures/schemas/ecs-9.4.0/fields.csv): every
// key is an ECS field (or an object on the way to one), its value has the field's type, arrays exactly where
// ECS normalises a field to an array.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

const FIELDS_CSV = join(import.meta.dirname, '..', 'fixtures', 'schemas', 'ecs-9.4.0', 'fields.csv');

interface EcsField {
  readonly type: string;
  readonly array: boolean;
}

/** RFC 4180 fields of one CSV line (the field list quotes examples and descriptions). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

let cached: Map<string, EcsField> | undefined;

/** ECS fields by dotted name: `ECS_Version,Indexed,Field_Set,Field,Type,Level,Normalization,…`. */
export function ecsFields(): Map<string, EcsField> {
  if (cached !== undefined) return cached;
  const fields = new Map<string, EcsField>();
  const lines = readFileSync(FIELDS_CSV, 'utf8').split('\n').slice(1);
  for (const line of lines) {
    if (line.trim() === '') continue;
    const [, , , name, type, , normalization] = csvFields(line);
    if (name !== undefined && type !== undefined) fields.set(name, {type, array: (normalization ?? '').includes('array')});
  }
  cached = fields;
  return fields;
}

function typeProblem(type: string, value: unknown): string | null {
  switch (type) {
    case 'keyword':
    case 'wildcard':
    case 'match_only_text':
    case 'text':
    case 'constant_keyword':
    case 'ip':
      return typeof value === 'string' ? null : `a ${type} must be a string`;
    case 'long':
    case 'integer':
    case 'short':
    case 'byte':
    case 'unsigned_long':
      return Number.isInteger(value) ? null : `a ${type} must be an integer`;
    case 'float':
    case 'double':
    case 'half_float':
    case 'scaled_float':
      return typeof value === 'number' ? null : `a ${type} must be a number`;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'a boolean must be true or false';
    case 'date':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value) ? null : 'a date must be an ISO 8601 string';
    default:
      return `type ${type} is not checked by this test`;
  }
}

/** Every problem of `doc` against ECS (empty when it conforms), each naming the dotted key. */
export function ecsProblems(doc: unknown): string[] {
  const fields = ecsFields();
  const problems: string[] = [];
  const prefixes = new Set<string>();
  for (const name of fields.keys()) {
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) prefixes.add(parts.slice(0, i).join('.'));
  }
  const walk = (value: unknown, path: string): void => {
    const field = fields.get(path);
    if (field !== undefined && field.type !== 'object' && field.type !== 'nested' && field.type !== 'flattened') {
      if (field.array !== Array.isArray(value)) problems.push(`${path}: ${field.array ? 'ECS normalises it to an array' : 'ECS has no array here'}`);
      for (const item of Array.isArray(value) ? value : [value]) {
        const problem = typeProblem(field.type, item);
        if (problem !== null) problems.push(`${path}: ${problem} (got ${JSON.stringify(item)})`);
      }
      return;
    }
    if (field !== undefined) {
      // An object field of its own (labels: keyword values under any key).
      if (value === null || typeof value !== 'object' || Array.isArray(value)) problems.push(`${path}: ECS has an object here`);
      else if (path === 'labels') for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') problems.push(`labels.${k}: labels are keywords`);
      return;
    }
    if (path !== '' && !prefixes.has(path)) {
      problems.push(`${path}: not an ECS field`);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${path}: ECS has only objects on the way to a field here`);
      return;
    }
    for (const [key, member] of Object.entries(value)) walk(member, path === '' ? key : `${path}.${key}`);
  };
  walk(doc, '');
  for (const required of ['@timestamp', 'ecs.version', 'event.kind']) {
    const parts = required.split('.');
    let at: unknown = doc;
    for (const part of parts) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
    if (at === undefined) problems.push(`${required}: missing`);
  }
  return problems;
}
