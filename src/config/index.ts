// Configuration: schema, layered builder, validation, environment substitution, state paths.
export * from './builder.js';
export * from './config-doc.js';
export * from './env-substitutor.js';
export * from './paths.js';
export * from './redact.js';
export * from './schema.js';
export * from './validate-file.js';
export * from './validator.js';
export * from './show.js';
