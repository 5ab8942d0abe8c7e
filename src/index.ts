// daemoneye-lib: the public API. Everything the CLI does is reachable from here without oclif.
export * from './alerting/index.js';
export * from './app/index.js';
export * from './audit/index.js';
export * from './config/index.js';
export * from './crypto/index.js';
export * from './detection/index.js';
export * from './errors.js';
export * from './models/index.js';
export * from './output/index.js';
export * from './storage/index.js';
export * from './util/atomic-write.js';
export * from './util/lock.js';
export * from './util/time.js';
export {TOOL_VERSION} from './version.js';
export * from './telemetry/index.js';
