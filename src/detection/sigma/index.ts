// Sigma rules, natively: the field mapping, the case fold, the condition parser and the compiler.
export * from './casefold.js';
export * from './compile.js';
export * from './condition.js';
export * from './fields.js';
export * from './format.js';
