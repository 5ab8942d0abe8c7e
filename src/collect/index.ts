// The process collector (the /proc snapshot behind `scan`, live `detect` and `query`): collectSnapshot and
// its options in snapshot.ts, executable hashing, argv redaction, the live-response tables, the `ps`-like view.
export * from './snapshot.js';
export {HASH_ALGORITHM, type HashProgress, sha256File} from './hash.js';
export {createArgvRedactor, type RedactionOptions} from './redact.js';
export {collectLiveTables, LIVE_TABLES} from './live-tables.js';
export {processView, PROCESS_COLUMNS} from './process-view.js';
