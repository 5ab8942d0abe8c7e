// Checks an event against the OCSF schema's own files (test/fixtures/schemas/ocsf-1.8.0): the class is resolved
// through `extends` and `$include` (profiles) as the schema compiler does, every attribute must exist in the
// class or object, have the dictionary's type (arrays where `is_array`), every `required` attribute must be
// present (a profile's only when the event applies the profile in metadata.profiles), and the objects'
// `at_least_one` / `just_one` constraints hold.
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';

const ROOT = join(import.meta.dirname, '..', 'fixtures', 'schemas', 'ocsf-1.8.0');

interface AttributeDef {
  readonly requirement?: string;
  readonly type?: string;
  readonly is_array?: boolean;
  readonly object_type?: string;
  readonly profile?: string | null;
}
interface Definition {
  readonly name: string;
  readonly uid?: number;
  readonly category?: string;
  readonly extends?: string;
  readonly attributes: Record<string, AttributeDef | string[]>;
  readonly constraints?: {at_least_one?: string[]; just_one?: string[]};
}
type Resolved = {attributes: Map<string, AttributeDef & {fromProfile?: string}>; constraints: Definition['constraints']};

const read = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : [],
  );
}

class OcsfSchema {
  readonly dictionary = read(join(ROOT, 'dictionary.json')) as {
    attributes: Record<string, AttributeDef>;
    types: {attributes: Record<string, {type?: string}>};
  };
  readonly categories = (read(join(ROOT, 'categories.json')) as {attributes: Record<string, {uid: number}>}).attributes;
  readonly objects = new Map((filesUnder(join(ROOT, 'objects')).map(read) as Definition[]).map((o) => [o.name, o]));
  readonly events = new Map((filesUnder(join(ROOT, 'events')).map(read) as Definition[]).map((e) => [e.name, e]));
  private readonly resolved = new Map<string, Resolved>();

  /** The event class with this class_uid (category uid × 1000 + the class's uid). */
  classOf(classUid: number): Definition | undefined {
    for (const event of this.events.values()) {
      const category = this.categoryOf(event);
      if (event.uid !== undefined && category !== undefined && (this.categories[category]?.uid ?? -1) * 1000 + event.uid === classUid) return event;
    }
    return undefined;
  }

  private categoryOf(event: Definition): string | undefined {
    if (event.category !== undefined) return event.category;
    return event.extends === undefined ? undefined : this.categoryOf(this.events.get(event.extends) as Definition);
  }

  resolve(def: Definition, kind: 'event' | 'object'): Resolved {
    const key = `${kind}:${def.name}`;
    const known = this.resolved.get(key);
    if (known !== undefined) return known;
    const attributes = new Map<string, AttributeDef & {fromProfile?: string}>();
    let constraints = def.constraints;
    if (def.extends !== undefined) {
      const parent = (kind === 'event' ? this.events : this.objects).get(def.extends);
      if (parent === undefined) throw new Error(`${def.name} extends unknown ${def.extends}`);
      const resolvedParent = this.resolve(parent, kind);
      for (const [name, attr] of resolvedParent.attributes) attributes.set(name, {...attr});
      constraints = constraints ?? resolvedParent.constraints;
    }
    const own = def.attributes;
    for (const include of (own.$include as string[] | undefined) ?? []) {
      const profile = read(join(ROOT, include)) as Definition;
      for (const [name, attr] of Object.entries(profile.attributes)) {
        if (name === '$include') continue;
        attributes.set(name, {...attributes.get(name), ...(attr as AttributeDef), fromProfile: profile.name});
      }
    }
    for (const [name, attr] of Object.entries(own)) {
      if (name === '$include') continue;
      const merged: AttributeDef & {fromProfile?: string} = {...attributes.get(name), ...(attr as AttributeDef)};
      if ((attr as AttributeDef).profile === null) delete merged.fromProfile;
      attributes.set(name, merged);
    }
    const resolved = {attributes, constraints};
    this.resolved.set(key, resolved);
    return resolved;
  }

  baseType(type: string): string {
    let current = type;
    for (let i = 0; i < 5; i++) {
      const next = this.dictionary.types.attributes[current]?.type;
      if (next === undefined || next === current) return current;
      current = next;
    }
    return current;
  }
}

let schema: OcsfSchema | undefined;
const ocsf = (): OcsfSchema => (schema ??= new OcsfSchema());

function scalarProblem(base: string, value: unknown): string | null {
  switch (base) {
    case 'string_t':
      return typeof value === 'string' ? null : 'a string';
    case 'integer_t':
    case 'long_t':
      return Number.isInteger(value) ? null : 'an integer';
    case 'float_t':
      return typeof value === 'number' ? null : 'a number';
    case 'boolean_t':
      return typeof value === 'boolean' ? null : 'a boolean';
    case 'json_t':
      return null;
    default:
      return `of type ${base}, which this test does not check`;
  }
}

function checkObject(value: unknown, resolved: Resolved, path: string, profiles: readonly string[], problems: string[]): void {
  const s = ocsf();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${path}: must be an object`);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [name, member] of Object.entries(record)) {
    const at = path === '' ? name : `${path}.${name}`;
    const attr = resolved.attributes.get(name);
    if (attr === undefined) {
      problems.push(`${at}: not an attribute here`);
      continue;
    }
    if (attr.fromProfile !== undefined && !profiles.includes(attr.fromProfile))
      problems.push(`${at}: belongs to profile ${attr.fromProfile}, not applied in metadata.profiles`);
    const dict = s.dictionary.attributes[name] ?? {};
    const type = attr.type ?? dict.type ?? 'json_t';
    const objectType = type === 'object_t' ? (attr.object_type ?? dict.object_type) : s.objects.has(type) ? type : undefined;
    const isArray = attr.is_array ?? dict.is_array ?? false;
    if (isArray !== Array.isArray(member)) {
      problems.push(`${at}: ${isArray ? 'must be an array' : 'must not be an array'}`);
      continue;
    }
    for (const [index, item] of (Array.isArray(member) ? member : [member]).entries()) {
      const itemPath = Array.isArray(member) ? `${at}[${index}]` : at;
      if (objectType !== undefined) {
        const def = s.objects.get(objectType);
        if (def === undefined) problems.push(`${itemPath}: unknown object ${objectType}`);
        else checkObject(item, s.resolve(def, 'object'), itemPath, profiles, problems);
      } else if (type === 'object_t') {
        if (item === null || typeof item !== 'object') problems.push(`${itemPath}: must be an object`);
      } else {
        const problem = scalarProblem(s.baseType(type), item);
        if (problem !== null) problems.push(`${itemPath}: must be ${problem} (got ${JSON.stringify(item)})`);
      }
    }
  }
  for (const [name, attr] of resolved.attributes) {
    if (attr.requirement !== 'required' || record[name] !== undefined) continue;
    if (attr.fromProfile !== undefined && !profiles.includes(attr.fromProfile)) continue;
    problems.push(`${path === '' ? name : `${path}.${name}`}: required, missing`);
  }
  const {at_least_one: atLeastOne, just_one: justOne} = resolved.constraints ?? {};
  if (atLeastOne !== undefined && !atLeastOne.some((n) => record[n] !== undefined))
    problems.push(`${path || 'event'}: needs at least one of ${atLeastOne.join(', ')}`);
  if (justOne !== undefined && justOne.filter((n) => record[n] !== undefined).length !== 1)
    problems.push(`${path || 'event'}: needs exactly one of ${justOne.join(', ')}`);
}

/** Every problem of `event` against its OCSF class (empty when it conforms), each naming the attribute path. */
export function ocsfProblems(event: unknown): string[] {
  const s = ocsf();
  const record = event as Record<string, unknown>;
  const def = typeof record.class_uid === 'number' ? s.classOf(record.class_uid) : undefined;
  if (def === undefined) return [`class_uid ${String(record.class_uid)}: not a class of this schema`];
  const problems: string[] = [];
  const profiles = ((record.metadata as {profiles?: string[]} | undefined)?.profiles ?? []) as string[];
  checkObject(event, s.resolve(def, 'event'), '', profiles, problems);
  const activity = record.activity_id as number;
  if (record.type_uid !== (record.class_uid as number) * 100 + activity) problems.push(`type_uid: must be class_uid × 100 + activity_id`);
  return problems;
}

/** The OCSF version the fixtures are (version.json). */
export function ocsfVersion(): string {
  return (read(join(ROOT, 'version.json')) as {version: string}).version;
}
