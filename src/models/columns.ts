// Derives SQLite columns and documentation rows from zod object schemas, so a record's shape is
// declared once (docs/architecture.md, "One home per concept").
import type {z} from 'zod';

export type SqlType = 'INTEGER' | 'REAL' | 'TEXT';

/** A value as SQLite stores it. */
export type SqlRowValue = string | number | null;

export interface ColumnSpec {
  readonly name: string;
  readonly sqlType: SqlType;
  readonly nullable: boolean;
  /** JSON-typed fields (arrays, objects) are stored as JSON text. */
  readonly json: boolean;
  /** Booleans are stored as 0/1. */
  readonly boolean: boolean;
  readonly description: string;
  /** The type as a reader of the docs sees it (`integer`, `text`, `JSON array of text`, …). */
  readonly docType: string;
  /** The only values a TEXT column may hold (a zod enum or literal); absent for free text. */
  readonly enumValues?: readonly string[];
  /** What a JSON column holds at its top level: an array, an object, or any JSON value. */
  readonly jsonShape?: 'array' | 'object' | 'any';
  /** For a JSON array of scalars: the SQLite `json_each` type of every element (`text`, `integer`, `real`). */
  readonly elementType?: 'text' | 'integer' | 'real';
}

interface Unwrapped {
  readonly type: z.ZodType;
  readonly nullable: boolean;
}

function unwrap(schema: z.ZodType): Unwrapped {
  let current = schema;
  let nullable = false;
  for (;;) {
    const def = current._zod.def as {type: string; innerType?: z.ZodType};
    if ((def.type === 'nullable' || def.type === 'optional' || def.type === 'default') && def.innerType !== undefined) {
      if (def.type !== 'default') nullable = true;
      current = def.innerType;
      continue;
    }
    return {type: current, nullable};
  }
}

/** The column spec of one zod field. */
export function columnOf(name: string, field: z.ZodType): ColumnSpec {
  const {type, nullable} = unwrap(field);
  const def = type._zod.def as {type: string; element?: z.ZodType; values?: unknown[]};
  const description = field.description ?? type.description ?? '';
  const base = {name, nullable, description};
  switch (def.type) {
    case 'number': {
      const isInt = (type as unknown as {isInt?: boolean}).isInt === true;
      return {...base, sqlType: isInt ? 'INTEGER' : 'REAL', json: false, boolean: false, docType: isInt ? 'integer' : 'real'};
    }
    case 'boolean':
      return {...base, sqlType: 'INTEGER', json: false, boolean: true, docType: 'boolean (0/1)'};
    case 'string':
      return {...base, sqlType: 'TEXT', json: false, boolean: false, docType: 'text'};
    case 'enum':
    case 'literal':
      return {...base, sqlType: 'TEXT', json: false, boolean: false, docType: `text (${enumValues(type).join(' \\| ')})`, enumValues: enumValues(type)};
    case 'array': {
      const element = def.element === undefined ? undefined : scalarJsonType(def.element);
      return {
        ...base,
        sqlType: 'TEXT',
        json: true,
        boolean: false,
        docType: 'JSON array',
        jsonShape: 'array',
        ...(element === undefined ? {} : {elementType: element}),
      };
    }
    case 'object':
    case 'record':
      return {...base, sqlType: 'TEXT', json: true, boolean: false, docType: 'JSON', jsonShape: 'object'};
    default:
      return {...base, sqlType: 'TEXT', json: true, boolean: false, docType: 'JSON', jsonShape: 'any'};
  }
}

/** The `json_each` type every element of an array of this zod type has, when it is a plain scalar. */
function scalarJsonType(schema: z.ZodType): ColumnSpec['elementType'] {
  const {type, nullable} = unwrap(schema);
  if (nullable) return undefined;
  const def = type._zod.def as {type: string};
  if (def.type === 'string') return 'text';
  if (def.type === 'number') return (type as unknown as {isInt?: boolean}).isInt === true ? 'integer' : 'real';
  return undefined;
}

function enumValues(type: z.ZodType): string[] {
  const def = type._zod.def as {entries?: Record<string, string>; values?: unknown[]};
  if (def.entries !== undefined) return Object.values(def.entries);
  if (def.values !== undefined) return def.values.map(String);
  return [];
}

/** Columns of every field of an object schema, in declaration order. */
export function columnsOf(schema: z.ZodObject): ColumnSpec[] {
  return Object.entries(schema.shape).map(([name, field]) => columnOf(name, field as z.ZodType));
}

/** `CREATE TABLE` for a list of columns. */
export function createTableSql(table: string, columns: readonly ColumnSpec[], primaryKey?: string): string {
  const lines = columns.map((c) => {
    const pk = c.name === primaryKey ? ' PRIMARY KEY' : '';
    const notNull = !c.nullable && pk === '' ? ' NOT NULL' : '';
    return `  ${c.name} ${c.sqlType}${pk}${notNull}`;
  });
  return `CREATE TABLE ${table} (\n${lines.join(',\n')}\n)`;
}

/** Convert a JavaScript value to what SQLite stores for that column. */
export function toSqlValue(column: Pick<ColumnSpec, 'boolean' | 'json'>, value: unknown): SqlRowValue {
  if (value === null || value === undefined) return null;
  if (column.boolean) return value === true ? 1 : 0;
  if (column.json) return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  return JSON.stringify(value);
}

/** A function giving a plain record's values in `columns` order, each converted by toSqlValue. */
export function rowValues(columns: readonly ColumnSpec[]): (row: unknown) => SqlRowValue[] {
  return (row) => {
    const source = row as Record<string, unknown>;
    return columns.map((c) => toSqlValue(c, source[c.name]));
  };
}

/** Convert what SQLite returned back to the record's JavaScript value. */
export function fromSqlValue(column: ColumnSpec, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (column.boolean) return value === 1 || value === true;
  if (column.json && typeof value === 'string') return JSON.parse(value) as unknown;
  return value;
}
