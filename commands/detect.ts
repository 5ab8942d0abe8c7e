import {Flags} from '@oclif/core';

import {detect} from '../src/detection/detect.js';
import {alertLine, alertTable, summaryLines} from '../src/detection/render.js';
import {detectionSnapshots} from '../src/detection/snapshot-source.js';
import {DaemonEyeError, ExitCode, isDaemonEyeError} from '../src/errors.js';
import type {Alert} from '../src/models/alert.js';
import type {ProcessRecord} from '../src/models/process.js';
import {ALERT_SEVERITIES} from '../src/models/severity.js';
import {renderJson, renderNdjsonLine} from '../src/output/render.js';
import {recordDeliverySummaryMetrics, recordDetectionMetrics} from '../src/telemetry/record.js';
import {parseTime} from '../src/util/time.js';
import {preferBaselineWasm} from '../src/util/wasm-tiering.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {formatFlag, inputFlag, sinceFlag} from './_base/flags.js';

export default class Detect extends DaemonEyeCommand<typeof Detect> {
  static override summary = 'Run detection rules on a live snapshot or saved input and print alerts.';
  static override description =
    'Rules run in sandboxed worker threads with a per-rule timeout (detection.rule_timeout_ms) and a run deadline (--timeout). Alerts go to stdout (NDJSON when piped); a run summary goes to stderr. Exit 1 when an alert is at or above --fail-on, 2 when a rule file is invalid or the input unusable, 3 when a rule failed, timed out or did not run, or a sink could not take every alert (those are spooled for the next run; see `alerts deliver`).';
  static override examples = [
    '<%= config.bin %> detect --input snapshot.db',
    '<%= config.bin %> detect --input /var/lib/daemoneye/store --since 24h --fail-on high',
    '<%= config.bin %> detect --rules ./my-rules --rule my-rule-id --format json',
    '<%= config.bin %> detect --sink siem --show-suppressed',
    '<%= config.bin %> detect --format tree',
    '<%= config.bin %> detect --baseline /var/lib/daemoneye/baseline.db --fail-on medium',
  ];
  static override flags = {
    format: formatFlag(['json', 'ndjson', 'text', 'table', 'tree'] as const),
    input: inputFlag,
    since: sinceFlag,
    rules: Flags.string({summary: 'A further directory or file of rules (repeatable).', multiple: true}),
    rule: Flags.string({summary: 'Run only this rule id, even if disabled (repeatable).', multiple: true}),
    'fail-on': Flags.option({summary: 'Exit 1 when an alert is at or above this severity.', options: ALERT_SEVERITIES})(),
    store: Flags.string({summary: 'Save the live snapshot with its alerts in this store directory.'}),
    timeout: Flags.integer({summary: 'Deadline of the whole run in ms (default: detection.run_timeout_ms).', min: 1}),
    sink: Flags.string({summary: 'Deliver to this configured sink only (repeatable; default: every sink in alerting.sinks).', multiple: true}),
    baseline: Flags.string({
      summary: 'A known-good snapshot file or store: its latest scan is given to rules as baseline_<table> (e.g. baseline_processes).',
    }),
    'hidden-check': Flags.boolean({
      summary: 'Live snapshot: also sweep the pid space for processes the /proc listing hides (default: collection.hidden_check).',
      allowNo: true,
    }),
    'show-suppressed': Flags.boolean({summary: 'Also print alerts that deduplication suppressed, marked "suppressed": true.'}),
  };

  async run(): Promise<void> {
    const {flags} = this;
    if (flags.store !== undefined && flags.input !== undefined) {
      throw new DaemonEyeError('USAGE', '--store saves a live snapshot; it cannot be combined with --input (inputs are never modified)', {
        hint: 'drop one of them',
      });
    }
    // One snapshot (live, or the latest scan of --input) is a short run; --since may be many (see wasm-tiering.ts).
    if (flags.format === 'tree' && flags.since !== undefined) {
      throw new DaemonEyeError('USAGE', '--format tree draws one scan; --since selects many', {hint: 'drop --since to draw the latest scan of --input'});
    }
    if (flags.since === undefined) preferBaselineWasm();
    const config = this.loadConfig({'collection.hidden_check': flags['hidden-check']});
    const {AlertManager, alertsToPrint, deliveryFailed, deliverySummaryLines} = await import('../src/alerting/index.js');
    // Built before detection so an unknown --sink is a usage error before any work is done.
    const alerting = AlertManager.fromConfig(config, {logger: this.logger});
    const stdoutFormat = alerting.stdoutFormat(flags.sink ?? []);
    // An unusable file in a store is reported and skipped; the run goes on and ends with exit 2.
    const onProblem = (problem: DaemonEyeError): void => {
      this.logger.error(problem.toOneLine());
      this.setExitCode(ExitCode.UsageOrInput);
    };
    const since = flags.since === undefined ? undefined : parseTime(flags.since, Date.now(), '--since');
    const report = await this.refusalsAudited(() =>
      detect({
        config: config.values,
        rulesPaths: flags.rules ?? [],
        ruleIds: flags.rule ?? [],
        snapshots: detectionSnapshots({config: config.values, input: flags.input, since, onProblem}),
        ...(flags.store === undefined ? {} : {storeDir: flags.store}),
        ...(flags.baseline === undefined ? {} : {baseline: flags.baseline}),
        ...(flags.timeout === undefined ? {} : {timeoutMs: flags.timeout}),
        ...(flags['fail-on'] === undefined ? {} : {failOn: flags['fail-on']}),
      }),
    );
    this.logger.debug('rules loaded', {rules: report.summary.rules_loaded, from_build_index: report.rulesFromIndex});
    const liveStats = report.snapshots[0]?.live?.stats;
    if (liveStats?.hash_cache_problem !== undefined && liveStats.hash_cache_problem !== null) this.logger.warn(liveStats.hash_cache_problem);
    recordDetectionMetrics(this.metrics, report);
    // Deduplication decides what leaves the process (stdout and sinks alike); --fail-on still judges report.alerts.
    const delivery = await alerting.deliver(report.alerts, {sinkNames: flags.sink ?? []});
    recordDeliverySummaryMetrics(this.metrics, delivery.summary);
    const printed = alertsToPrint(report.alerts, delivery, flags['show-suppressed']);
    const marked = printed.map((a) => (a.suppressed === true ? {...a, description: `[suppressed] ${a.description}`} : a));
    const format = this.outputFormat(flags.format ?? stdoutFormat);
    if (format === 'tree') this.write(await this.tree(report.snapshots[0]?.live?.processes, printed));
    else if (format === 'json') this.write(renderJson({alerts: printed, summary: {...report.summary, ...delivery.summary}}));
    else if (format === 'text') {
      const palette = await this.stdoutPalette();
      for (const alert of marked) this.write(alertLine(alert, palette));
    } else if (format === 'table') this.write(alertTable(marked, process.stdout.columns, await this.stdoutPalette()));
    else for (const alert of printed) this.write(renderNdjsonLine(alert));
    if (report.needBaseline.length > 0) this.logger.info(`rules skipped without --baseline: ${report.needBaseline.join(', ')}`);
    if (report.summary.rules_loaded === 0) this.logger.warn('no rules were loaded: check detection.builtin_rules, detection.rules_paths and --rules');
    const [headline, ...problems] = summaryLines(report);
    this.logger.info(headline ?? '');
    for (const line of problems) this.logger.warn(line);
    for (const line of deliverySummaryLines(delivery.summary)) this.logger.info(line);
    if (deliveryFailed(delivery.summary)) this.setExitCode(ExitCode.RuntimeFailure);
    if (report.stored !== null)
      this.logger.info(`saved scan ${report.stored.scanIds.join(', ')} with ${report.stored.alertCount} alerts to ${report.stored.path}`);
    const s = report.summary;
    if (s.findings > 0) this.setExitCode(ExitCode.CheckFailed);
    if (s.failed.length + s.timed_out.length + s.not_run.length > 0) this.setExitCode(ExitCode.RuntimeFailure);
    await this.audit('detection', {
      scan_ids: s.scan_ids,
      source: s.source,
      rules_run: s.rules_run,
      failed: s.failed,
      timed_out: s.timed_out,
      not_run: s.not_run,
      alerts_by_severity: s.alerts_by_severity,
      findings: s.findings,
      deliveries: delivery.summary.deliveries.map(({sink, ok, attempts, delivered, pending, error}) => ({sink, ok, attempts, delivered, pending, error})),
      suppressed: delivery.summary.suppressed,
      stored: report.stored?.path ?? null,
      exit_code: this.currentExitCode,
    });
  }

  /** The snapshot's process tree with the processes these alerts name marked (live, or the latest scan of --input). */
  private async tree(live: readonly ProcessRecord[] | undefined, alerts: readonly Alert[]): Promise<string> {
    const {buildProcessTree, loadLatestSavedScan, renderProcessTree} = await import('../src/tree/index.js');
    const saved = live === undefined && this.flags.input !== undefined ? await loadLatestSavedScan(this.flags.input) : undefined;
    const processes = live ?? saved?.processes ?? [];
    const roots = buildProcessTree(processes, {alerts, ...(saved === undefined ? {} : {sockets: saved.sockets})});
    const width = process.stdout.isTTY === true ? process.stdout.columns || 80 : undefined;
    return renderProcessTree(roots, {...(width === undefined ? {} : {width}), palette: await this.stdoutPalette()});
  }

  /** An invalid rule file or refused rule SQL stops the run (exit 2); the refusal is recorded in the ledger first. */
  private async refusalsAudited<R>(run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (error) {
      if (isDaemonEyeError(error) && (error.code === 'RULE_INVALID' || error.code === 'SQL_REFUSED')) {
        await this.audit('detection_refused', {code: error.code, error: error.toOneLine(), details: error.details});
      }
      throw error;
    }
  }
}
