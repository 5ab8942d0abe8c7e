// Sigma rules, natively: the field mapping, the case fold, the condition parser, value patterns and the
// compiler (its SQL rendering, sql.ts, is internal to it).
export * from './casefold.js';
export * from './compile.js';
export * from './condition.js';
export * from './fields.js';
export * from './format.js';
export * from './pattern.js';
