// The data models: every record that crosses a process boundary, declared once as a zod schema.
export * from './alert.js';
export * from './columns.js';
export * from './process.js';
export * from './rule.js';
export * from './scan.js';
export * from './severity.js';
export * from './schema-doc.js';
export * from './process-fixture.js';
