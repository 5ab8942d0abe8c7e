// Helpers that look inside the zod configuration schema: which keys exist at a path, and each leaf's
// type, default and description (for docs, did-you-mean and `config show`).
import type {z} from 'zod';

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  defaultValue?: unknown;
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return schema._zod.def as unknown as Def;
}

/** Strip nullable/optional/default/prefault/pipe wrappers. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.innerType !== undefined && ['nullable', 'optional', 'default', 'prefault', 'readonly', 'nonoptional'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in !== undefined) {
      current = def.in;
    } else {
      return current;
    }
  }
}

export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'object' ? def.shape : undefined;
}

/** The keys allowed at an object path, given the raw value (to choose a union member). */
export function schemaAt(root: z.ZodType, path: readonly (string | number)[], raw: unknown): z.ZodType | undefined {
  let schema: z.ZodType | undefined = root;
  let value = raw;
  for (const segment of path) {
    if (schema === undefined) return undefined;
    const def = defOf(unwrapSchema(schema));
    value = value !== null && typeof value === 'object' ? (value as Record<string | number, unknown>)[segment] : undefined;
    if (def.type === 'object') schema = def.shape?.[String(segment)];
    else if (def.type === 'array') schema = def.element;
    else if (def.type === 'record') schema = def.valueType;
    else return undefined;
    if (schema !== undefined) schema = pickUnionMember(schema, value);
  }
  return schema === undefined ? undefined : pickUnionMember(schema, value);
}

function pickUnionMember(schema: z.ZodType, value: unknown): z.ZodType {
  const def = defOf(unwrapSchema(schema));
  if (def.type !== 'union' || def.options === undefined) return schema;
  const type = value !== null && typeof value === 'object' ? (value as {type?: unknown}).type : undefined;
  for (const option of def.options) {
    const typeField = shapeOf(option)?.type;
    if (typeField === undefined) continue;
    const literal = defOf(unwrapSchema(typeField)) as unknown as {values?: unknown[]};
    if (literal.values?.includes(type) === true) return option;
  }
  return schema;
}

/** Names of the `type` discriminator values of a union (for error messages and docs). */
export function unionTypes(schema: z.ZodType): string[] {
  const def = defOf(unwrapSchema(schema));
  if (def.type !== 'union' || def.options === undefined) return [];
  return def.options.flatMap((option) => {
    const typeField = shapeOf(option)?.type;
    const literal = typeField === undefined ? undefined : (defOf(unwrapSchema(typeField)) as unknown as {values?: unknown[]});
    return (literal?.values ?? []).map(String);
  });
}

export interface LeafDoc {
  readonly key: string;
  readonly type: string;
  readonly defaultValue: unknown;
  readonly description: string;
}

/** A readable type name of a leaf schema. */
export function typeName(schema: z.ZodType): string {
  const inner = unwrapSchema(schema);
  const def = defOf(inner) as Def & {entries?: Record<string, string>; values?: unknown[]};
  const nullable = isNullable(schema) ? ' or null' : '';
  switch (def.type) {
    case 'number':
      return `${(inner as unknown as {isInt?: boolean}).isInt === true ? 'integer' : 'number'}${nullable}`;
    case 'enum':
      return `${Object.values(def.entries ?? {}).join(' \\| ')}${nullable}`;
    case 'literal':
      return `${(def.values ?? []).map(String).join(' \\| ')}${nullable}`;
    case 'array':
      return `list of ${def.element === undefined ? 'values' : typeName(def.element)}${nullable}`;
    case 'record':
      return `map of ${def.valueType === undefined ? 'values' : typeName(def.valueType)}${nullable}`;
    case 'object':
      return 'mapping';
    default:
      return `${def.type}${nullable}`;
  }
}

function isNullable(schema: z.ZodType): boolean {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'nullable') return true;
    if (def.innerType !== undefined && ['optional', 'default', 'prefault', 'readonly'].includes(def.type)) current = def.innerType;
    else return false;
  }
}

function defaultOf(schema: z.ZodType): unknown {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'default') return def.defaultValue;
    if (def.innerType !== undefined && ['nullable', 'optional', 'readonly'].includes(def.type)) current = def.innerType;
    else return undefined;
  }
}

/** Every leaf key of an object schema with its type, default and description, depth first. */
export function leafDocs(schema: z.ZodType, prefix = ''): LeafDoc[] {
  const shape = shapeOf(schema);
  if (shape === undefined) return [];
  const rows: LeafDoc[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (shapeOf(field) !== undefined) {
      rows.push(...leafDocs(field, path));
      continue;
    }
    rows.push({key: path, type: typeName(field), defaultValue: defaultOf(field), description: field.description ?? unwrapSchema(field).description ?? ''});
  }
  return rows;
}
