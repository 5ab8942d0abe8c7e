// The sinks: one module per kind (file, stdout, syslog, webhook) and sink-kinds.ts, which builds them.
export * from './file.js';
export * from './sink-kinds.js';
export * from './stdout.js';
export * from './syslog.js';
export * from './syslog-format.js';
export * from './webhook.js';
