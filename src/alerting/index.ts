// Alerting: deduplication across runs, sinks (stdout, file, syslog, webhook) and the spool.
export * from './alert-manager.js';
export * from './dedupe.js';
export * from './sinks/index.js';
export * from './spool.js';
export * from './types.js';
