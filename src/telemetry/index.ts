// Telemetry: Prometheus metrics of a run and the health of each component.
export * from './health.js';
export * from './health-checks.js';
export * from './health-probes.js';
export * from './health-view.js';
export * from './metrics.js';
export * from './metrics-file.js';
export * from './record-metrics.js';
