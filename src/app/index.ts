// The use cases: one module per command family, each the one library call its commands make (detect,
// rules, diff, tree, evidence for `collect`), with the views of their results.
export * from './config-view.js';
export * from './detect.js';
export * from './detect-view.js';
export * from './diff.js';
export * from './evidence.js';
export * from './rules.js';
export * from './rules-view.js';
export * from './tree.js';
