// The storage layer: snapshot files, store directories, the EventStore, export, and the readers that
// `detect`, `query` and `export` share for `--input FILE|DIR`.
//
// For detection and query code, the entry points are:
// - `readSnapshotsInRange(input, {since, until, onProblem})`: each file's scans in a time range, one
//   in-memory sql.js database at a time (closed when the loop moves on);
// - `loadLatestScan(input)`: the newest scan of a file or store, alone in its database;
// - `loadScansIntoOneDatabase(input, {since, until, maxQueryMb})`: every scan in range in ONE database
//   (joins and GROUP BY across scans), refused with QUERY_TOO_LARGE naming --since above storage.max_query_mb.
export * from './database.js';
export * from './event-store.js';
export * from './export.js';
export * from './input.js';
export * from './migrations.js';
export * from './save.js';
export * from './snapshot-file.js';
export * from './store.js';
export * from './table-rows.js';
