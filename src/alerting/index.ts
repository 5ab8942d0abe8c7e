// Alerting: deduplication across runs, sinks (stdout, file, syslog, webhook) and the spool.
export {
  AlertManager,
  type AlertManagerConfig,
  type AlertManagerOptions,
  alertsToPrint,
  type DeduplicationConfig,
  type DeliverOptions,
  deliverRun,
  deliverSpool,
  deliveryFailed,
  type DeliveryRunResult,
  type PrintedAlert,
} from './alert-manager.js';
export {applyDeduplication, DEDUPE_STATE_FILE, dedupeStatePath, readDedupeState} from './dedupe.js';
export {FileSink} from './sinks/file.js';
export {deliverySummaryLines} from './delivery-view.js';
export {createSink, loadSinkKinds, sinkKind, sinkSecrets} from './sinks/sink-kinds.js';
export {alertTextLine, renderAlerts, StdoutSink} from './sinks/stdout.js';
export {SyslogSink} from './sinks/syslog.js';
export {formatRfc5424, SD_ID, SYSLOG_FACILITIES, SYSLOG_SEVERITY} from './sinks/syslog-format.js';
export {hmacSignature, SIGNATURE_HEADER, splunkHecEnvelope, WebhookSink} from './sinks/webhook.js';
export {claimSpool, readSpool, settleSpool, type SpoolEntry, spoolPath} from './spool.js';
export type {AlertSink, DeliverySummary, SinkDelivery, SinkSendOptions, SinkSendResult} from './types.js';
