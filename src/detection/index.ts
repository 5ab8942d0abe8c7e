// The detection library: SqlValidator, rule files and RuleManager, the sandboxed DetectionEngine, alert
// generation, rule tests, the stages of `detect` (rules over snapshots, rules on one snapshot), `query`, and
// `rules validate`.
export * from './alerts.js';
export * from './config-edit.js';
export * from './engine.js';
export * from './fixture-snapshot.js';
export * from './lists.js';
export * from './rule-cache.js';
export * from './rule-file.js';
export * from './rule-format.js';
export * from './rule-source.js';
export * from './sigma/index.js';
export * from './rule-manager.js';
export * from './rule-tests.js';
export * from './query.js';
export * from './rules-on-snapshot.js';
export * from './rules-over-snapshots.js';
export * from './snapshot-source.js';
export * from './sql-lexer.js';
export * from './sql-policy.js';
export * from './sql-validator.js';
export * from './udfs.js';
export * from './validate-rules.js';
