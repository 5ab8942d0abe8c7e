import {Flags} from '@oclif/core';

import {collectOptionsFromConfig, collectSnapshot, type Snapshot} from '../src/collect/snapshot.js';
import type {HashProgress} from '../src/collect/hash.js';
import {COLLECTION_LIMIT_PREFIX} from '../src/collect/fanout.js';
import type {Config} from '../src/config/builder.js';
import type {SaveResult} from '../src/storage/save.js';
import type {StreamedSnapshot} from '../src/storage/snapshot-writer.js';
import {DaemonEyeError, ExitCode} from '../src/errors.js';
import {type Host, hostOfScan} from '../src/models/host.js';
import type {ProcessRecord} from '../src/models/process.js';
import type {TreeSocket} from '../src/tree/process-tree.js';
import {processView} from '../src/collect/process-view.js';
import {recordCollectionMetrics} from '../src/telemetry/record-metrics.js';
import {COLLECTED_TABLE_NAMES, collectedRows, missingTablesAdvice} from '../src/models/tables.js';
import {DaemonEyeCommand} from './_base/base-command.js';
import {preflightOutput} from '../src/util/output-file.js';
import {preferShortRunCompilation} from '../src/util/wasm-tiering.js';
import {configFlags} from './_base/config-flags.js';
import {allowBareFlag, formatFlag, PID_MAX_LIMIT, readerRedaction, storeFlag} from './_base/flags.js';
import {type CommandOutcome, type Output, shown} from './_base/outcome.js';
import type {Logger} from '../src/output/logger.js';

export default class Scan extends DaemonEyeCommand<typeof Scan> {
  static override summary = 'Snapshot every running process (or --pid) and print one record per process.';
  static override description =
    'Reads /proc directly on Linux (exact argv, exe link, status, namespaces), hashes each distinct executable (SHA-256) and redacts secret arguments. NDJSON when piped, a table on a terminal. Writes nothing but its output, unless --output (one snapshot file) or --store (a new file in a store directory) is given.';
  static override examples = [
    '<%= config.bin %> scan',
    "<%= config.bin %> scan | jq 'select(.platform_data.exe_deleted == true and .platform_data.exe_memfd == false)'",
    '<%= config.bin %> scan --format tree --pid 4242',
    '<%= config.bin %> scan --tree --format json --input snapshot.db | jq .',
    '<%= config.bin %> scan --pid 1 --pid 4242 --format json',
    '<%= config.bin %> scan --no-hash --cpu-sample 500',
    '<%= config.bin %> scan --output host-$(date +%s).db > /dev/null',
    '<%= config.bin %> scan --store > /dev/null',
    '<%= config.bin %> scan --output ir.db --tables all > /dev/null',
  ];
  static override flags = {
    format: formatFlag(['json', 'ndjson', 'table', 'csv', 'tree', 'ecs', 'ocsf'] as const),
    pid: Flags.integer({summary: 'Only this process (repeatable); with a tree, its subtree and its ancestors.', multiple: true, min: 0, max: PID_MAX_LIMIT}),
    tree: Flags.boolean({summary: "Nest each process's children under it (`--format json|ndjson`); `--format tree` draws it."}),
    input: Flags.string({summary: 'Show the latest scan of a snapshot file or store directory instead of taking a live snapshot.'}),
    ...configFlags('hash', 'hash-cache', 'hash-max-bytes', 'cpu-sample', 'collector', 'hidden-check', 'redact'),
    output: Flags.string({char: 'o', summary: 'Also save the snapshot as a SQLite file (written atomically, mode 0600; a device or FIFO is written through).'}),
    tables: Flags.string({
      summary: 'Host tables to save with --output/--store: a comma-separated list or `all` (default: collection.tables; processes is always saved).',
    }),
    store: storeFlag,
  };

  override async init(): Promise<void> {
    this.argv = allowBareFlag(this.argv, '--store');
    await super.init();
  }

  protected async execute(): Promise<CommandOutcome> {
    const {flags} = this;
    const tree = flags.tree || flags.format === 'tree';
    if (flags.input !== undefined) {
      if (flags.output !== undefined || flags.store !== undefined) {
        throw new DaemonEyeError('USAGE', '--input shows a saved scan; --output and --store save a live one', {hint: 'drop one of them'});
      }
      const config = this.loadConfig();
      const [{loadLatestSavedScan}, {snapshotLimitsFromConfig}] = await Promise.all([import('../src/app/tree.js'), import('../src/storage/snapshot-file.js')]);
      // An unusable file in a store is reported and skipped, as every reader does; the run then ends with exit 2.
      let skipped = 0;
      const saved = await loadLatestSavedScan(flags.input, {
        onWarning: (warning) => this.logger.warn(warning),
        onProblem: (problem) => {
          this.logger.reportError(problem);
          skipped += 1;
        },
        redaction: readerRedaction(config, (message) => this.logger.warn(message)),
        limits: snapshotLimitsFromConfig(config.values.storage),
      });
      const processes = tree || flags.pid === undefined ? saved.processes : saved.processes.filter((p) => flags.pid?.includes(p.pid) === true);
      return {
        output: await this.view(processes, tree, saved.sockets, hostOfScan(saved.scan)),
        exitCode: skipped > 0 ? ExitCode.UsageOrInput : ExitCode.Success,
        audit: {action: 'process_view', payload: {input: flags.input, scan_id: saved.scan.id, process_count: processes.length}},
      };
    }
    preferShortRunCompilation();
    const config = this.loadConfig();
    // Before collecting: a path that cannot take the snapshot is said now, not after the scan.
    if (flags.output !== undefined) preflightOutput(flags.output, {what: 'snapshot output'});
    readerRedaction(config, (message) => this.logger.warn(message));
    const saving = flags.output !== undefined || flags.store !== undefined;
    if (flags.tables !== undefined && !saving) this.logger.warn('--tables chooses what --output or --store saves; scan prints processes only');
    // Saved: the live tables' rows go into the snapshot database while they are collected (a tree keeps its sockets as rows too).
    const streamed = saving ? (await import('../src/storage/snapshot-writer.js')).streamedSnapshot(tree ? ['process_open_sockets'] : []) : undefined;
    try {
      return await this.collectAndShow(config, tree, saving, streamed);
    } finally {
      streamed?.close();
    }
  }

  /** Collect the live snapshot (into `streamed` when saving), save it and show its processes. */
  private async collectAndShow(config: Config, tree: boolean, saving: boolean, streamed: StreamedSnapshot | undefined): Promise<CommandOutcome> {
    const {flags} = this;
    const progress = hashProgressLine(this.logger);
    const savedTables = saving ? scanTables(flags.tables, config.values.collection.tables) : [];
    const snapshot = await collectSnapshot({
      ...collectOptionsFromConfig(config.values),
      // A tree shows each process's sockets, so it collects them even when nothing is saved.
      tables: [...new Set([...savedTables, ...(tree ? ['process_open_sockets'] : [])])],
      // A tree needs every process to find a --pid's ancestors and descendants.
      ...(flags.pid === undefined || tree ? {} : {pids: flags.pid}),
      ...(process.stderr.isTTY === true && this.logger.enabled('info') ? {onHashProgress: progress.show} : {}),
      ...(streamed === undefined ? {} : {stream: streamed.stream}),
    });
    progress.clear();
    recordCollectionMetrics(this.metrics, snapshot.stats);
    for (const pid of snapshot.stats.missing_pids) this.logger.warn(`no process with pid ${pid}`);
    if (snapshot.stats.hash_cache_problem !== null) this.logger.warn(snapshot.stats.hash_cache_problem);
    // A process or socket table read short (collection.fanout) is a warning, saved or not; other problems are details.
    for (const problem of snapshot.scan.errors) {
      if (problem.startsWith(COLLECTION_LIMIT_PREFIX)) this.logger.warn(problem);
      else this.logger.debug(problem);
    }
    // Tables asked for that the collector cannot read (the systeminformation collector reads processes only): said, with what works.
    const unsaved = savedTables.filter((table) => !snapshot.scan.tables.includes(table));
    if (unsaved.length > 0) this.logger.warn(`the snapshot does not hold ${unsaved.join(', ')}: ${missingTablesAdvice(unsaved, [snapshot.scan.collector])}`);
    for (const p of snapshot.processes) {
      const hidden = p.platform_data?.hidden;
      if (hidden !== null && hidden !== undefined) this.logger.warn(`pid ${p.pid} is hidden (${String(hidden)}): ${String(p.platform_data?.hidden_evidence)}`);
    }
    this.logger.debug('scan timing', {scan_id: snapshot.scan.id, ...snapshot.stats});
    const {processes} = snapshot;
    // The storage layer (sql.js) is loaded only when a snapshot is saved: a plain scan does not pay for it.
    const saved = streamed === undefined ? {} : await this.save(snapshot, config, await streamed.bytes(snapshot.scan, processes));
    if (saved.output !== undefined) this.logger.debug(`wrote snapshot ${saved.output.path} (${saved.output.bytes} bytes)`);
    if (saved.store !== undefined) this.logger.debug(`added ${saved.store.path} to the store`);
    // `--output /dev/stdout`: stdout holds the database, and rows after it would corrupt it.
    if (saved.output?.descriptor === 1) this.logger.info('the snapshot went to stdout: the rows are not printed');
    return {
      output:
        saved.output?.descriptor === 1
          ? null
          : await this.view(
              processes,
              tree,
              tree ? await (await import('../src/app/tree.js')).treeSockets(collectedRows(snapshot.tables, 'process_open_sockets')) : new Map(),
              hostOfScan(snapshot.scan),
            ),
      exitCode: ExitCode.Success,
      audit: {
        action: 'process_collection',
        payload: {
          scan_id: snapshot.scan.id,
          process_count: processes.length,
          collector: snapshot.scan.collector,
          pids: flags.pid ?? null,
          output: saved.output?.path ?? null,
          store_file: saved.store?.path ?? null,
        },
      },
    };
  }

  /** The records in the chosen format; a tree (`--format tree` or `--tree`) nests children, focused on --pid. */
  private async view(processes: readonly ProcessRecord[], tree: boolean, sockets: ReadonlyMap<number, readonly TreeSocket[]>, host: Host): Promise<Output> {
    if (!tree) return shown(processView(processes, host), this.flags.format);
    if (this.flags.format === 'csv') throw new DaemonEyeError('USAGE', 'a tree cannot be written as CSV', {hint: 'use --format tree, json or ndjson'});
    const [{processTree}, {treeView}] = await Promise.all([import('../src/app/tree.js'), import('../src/tree/tree-view.js')]);
    const roots = await processTree(processes, {sockets, host, ...(this.flags.pid === undefined ? {} : {focusPids: this.flags.pid})});
    for (const pid of this.flags.pid ?? []) if (!processes.some((p) => p.pid === pid)) this.logger.warn(`no process with pid ${pid}`);
    return shown(treeView(roots), this.flags.format);
  }

  /** Save the scan's snapshot file `bytes` (built while collecting) where --output and --store say. */
  private async save(snapshot: Snapshot, config: Config, bytes: Uint8Array): Promise<SaveResult> {
    const {retentionFromConfig, saveScan} = await import('../src/storage/index.js');
    const {store} = this.flags;
    return saveScan(snapshot.scan, snapshot.processes, {
      snapshot: bytes,
      outputPath: this.flags.output,
      storeDir: store === undefined ? undefined : store === '' ? config.paths.storeDir : store,
      retention: retentionFromConfig(config.values.storage),
      log: this.logger,
      note: (message) => this.logger.info(message),
    });
  }
}

/** The tables `--tables LIST|all` names, or the configured ones; unknown names are a usage error. */
function scanTables(flag: string | undefined, configured: readonly string[]): string[] {
  if (flag === undefined) return [...configured];
  // Table names are SQL identifiers, which are case-insensitive.
  const names = flag
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.length === 0) {
    throw new DaemonEyeError('USAGE', '--tables: no table given', {hint: `give a comma-separated list of ${COLLECTED_TABLE_NAMES.join(', ')}, or all`});
  }
  if (names.includes('all')) return [...COLLECTED_TABLE_NAMES];
  const unknown = names.filter((name) => !COLLECTED_TABLE_NAMES.includes(name));
  if (unknown.length > 0) {
    throw new DaemonEyeError('USAGE', `--tables: unknown table${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, {
      hint: `give a comma-separated list of ${COLLECTED_TABLE_NAMES.join(', ')}, or all`,
    });
  }
  return names;
}

/** A progress line on a terminal (stderr) once hashing has taken more than a second; cleared at the end. */
function hashProgressLine(logger: Logger): {show: (progress: HashProgress) => void; clear: () => void} {
  let shown = false;
  return {
    show: (progress) => {
      if (progress.elapsedMs < 1000) return;
      shown = true;
      const mib = (progress.bytes / (1024 * 1024)).toFixed(0);
      logger.progress(`hashing executables: ${progress.done}/${progress.total} (${mib} MiB)`);
    },
    clear: () => {
      if (shown) logger.progress('');
    },
  };
}
