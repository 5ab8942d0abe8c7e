import {Flags} from '@oclif/core';

import {type DetectRunResult, isDetectionRefusal, runDetect} from '../src/app/detect.js';
import {alertsView, detectView} from '../src/app/detect-view.js';
import type {View} from '../src/output/view.js';
import type {ProcessTreeNode} from '../src/tree/process-tree.js';
import {DaemonEyeError} from '../src/errors.js';
import {ALERT_SEVERITIES} from '../src/models/severity.js';
import {MAX_TIMER_MS, parseTime} from '../src/util/time.js';
import {preferShortRunCompilation} from '../src/util/wasm-tiering.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {configFlags} from './_base/config-flags.js';
import {formatFlag, inputFlag, sinceFlag} from './_base/flags.js';
import {type CommandOutcome, shown} from './_base/outcome.js';

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
    format: formatFlag(['json', 'ndjson', 'text', 'table', 'tree', 'ecs', 'ocsf'] as const),
    input: inputFlag,
    since: sinceFlag,
    rules: Flags.string({summary: 'A further directory or file of rules (repeatable).', multiple: true}),
    rule: Flags.string({summary: 'Run only this rule id, even if disabled (repeatable).', multiple: true}),
    'fail-on': Flags.option({summary: 'Exit 1 when an alert is at or above this severity.', options: ALERT_SEVERITIES})(),
    store: Flags.string({summary: 'Save the live snapshot with its alerts in this store directory.'}),
    timeout: Flags.integer({
      summary: `Deadline of the whole run in ms, at most ${MAX_TIMER_MS} (default: detection.run_timeout_ms).`,
      min: 1,
      max: MAX_TIMER_MS,
    }),
    sink: Flags.string({summary: 'Deliver to this configured sink only (repeatable; default: every sink in alerting.sinks).', multiple: true}),
    baseline: Flags.string({
      summary: 'A known-good snapshot file or store: its latest scan is given to rules as baseline_<table> (e.g. baseline_processes).',
    }),
    ...configFlags('hidden-check'),
    'show-suppressed': Flags.boolean({summary: 'Also print alerts that deduplication suppressed, marked "suppressed": true.'}),
  };

  protected async execute(): Promise<CommandOutcome> {
    // Milliseconds since the process started: Node's start, module loading and oclif's parse of the flags.
    const startupMs = performance.now();
    const {flags} = this;
    // One snapshot (live, or the latest scan of --input) is a short run; --since may be many (see wasm-tiering.ts).
    if (flags.format === 'tree' && flags.since !== undefined) {
      throw new DaemonEyeError('USAGE', '--format tree draws one scan; --since selects many', {hint: 'drop --since to draw the latest scan of --input'});
    }
    if (flags.since === undefined) preferShortRunCompilation();
    const config = this.loadConfig();
    const configMs = performance.now() - startupMs;
    const origin = flags.input === undefined ? ({live: true} as const) : ({live: false, input: flags.input} as const);
    // Line formats are printed before the first delivery to a sink (a kill or a slow sink cannot cost
    // stdout its alerts); json and table need the run's summary, tree the snapshot: they come at the end.
    let printedEarly = false;
    let result: DetectRunResult;
    try {
      result = await runDetect({
        config,
        input: flags.input,
        since: flags.since === undefined ? undefined : parseTime(flags.since, Date.now(), '--since'),
        rulesPaths: flags.rules ?? [],
        ruleIds: flags.rule ?? [],
        storeDir: flags.store,
        timeoutMs: flags.timeout,
        failOn: flags['fail-on'],
        sinkNames: flags.sink ?? [],
        showSuppressed: flags['show-suppressed'],
        baseline: flags.baseline,
        // The tree shows each process's sockets: a live run collects them even when no rule reads them.
        alsoCollect: flags.format === 'tree' ? ['process_open_sockets'] : [],
        logger: this.logger,
        metrics: this.metrics,
        onPrintable: async (printed, defaultFormat) => {
          if (flags.format === 'tree') return;
          const format = this.outputFormat(flags.format ?? defaultFormat);
          if (format === 'json' || format === 'table') return;
          await this.present(format, alertsView(printed, origin));
          printedEarly = true;
        },
      });
    } catch (error) {
      // A refused rule file or rule SQL is recorded under its own action, then reported (exit 2).
      if (isDetectionRefusal(error)) {
        return {refused: error, audit: {action: 'detection_refused', payload: {code: error.code, error: error.toOneLine(), details: error.details}}};
      }
      throw error;
    }
    const stats = result.report.snapshots[0]?.live?.stats;
    return {
      // The tree is drawn from the snapshot (built here, before the base presents it); line formats were printed already.
      output:
        flags.format === 'tree'
          ? shown(await this.tree(result), 'tree')
          : printedEarly
            ? null
            : shown(detectView(result, origin), flags.format ?? result.defaultFormat),
      exitCode: result.exitCode,
      audit: {action: 'detection', payload: result.audit},
      // The phases of docs/performance.md, for `--log-level debug` and the benchmarks (the base adds render, audit and total).
      timing: {
        message: 'detect timing',
        fields: {
          startup_ms: Math.round(startupMs),
          config_ms: Math.round(configMs),
          ...result.timings,
          ...(stats === undefined ? {} : {walk_ms: stats.walk_ms, hash_ms: stats.hash_ms, tables_ms: stats.tables_ms, processes: stats.processes}),
        },
      },
    };
  }

  /** The snapshot's process tree with the processes the printed alerts name marked (live, or the latest scan of --input). */
  private async tree(result: DetectRunResult): Promise<View<ProcessTreeNode>> {
    const [{loadLatestSavedScan, processTree, treeSockets}, {treeView}, {collectedRows}, {hostOfScan}] = await Promise.all([
      import('../src/app/tree.js'),
      import('../src/tree/tree-view.js'),
      import('../src/models/tables.js'),
      import('../src/models/host.js'),
    ]);
    const live = result.report.snapshots[0]?.live;
    if (live !== undefined) {
      const sockets = await treeSockets(collectedRows(live.tables, 'process_open_sockets'));
      return treeView(await processTree(live.processes, {alerts: result.printed, sockets, origin: {live: true}, host: hostOfScan(live.scan)}));
    }
    // The rules' read of this same input has said already what the file holds that a snapshot never has: once is enough.
    const saved = this.flags.input === undefined ? undefined : await loadLatestSavedScan(this.flags.input, {onWarning: () => undefined});
    const origin = {live: false, input: this.flags.input ?? ''} as const;
    return treeView(
      await processTree(saved?.processes ?? [], {
        alerts: result.printed,
        origin,
        ...(saved === undefined ? {} : {sockets: saved.sockets, host: hostOfScan(saved.scan)}),
      }),
    );
  }
}
