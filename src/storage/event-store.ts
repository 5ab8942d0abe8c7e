// EventStore: the reference API's storage type (docs/api.md) over snapshot files. One object for a snapshot file or a store
// directory: store processes (a new file per scan in a store), query them with a ProcessQuery, export.
import {existsSync, statSync} from 'node:fs';
import {arch, hostname, release} from 'node:os';

import {DaemonEyeError} from '../errors.js';
import type {Alert} from '../models/alert.js';
import {PROCESS_RECORD_COLUMNS, type ProcessRecord, ProcessRecordSchema, rowToProcess} from '../models/process.js';
import type {ScanRecord} from '../models/scan.js';
import {TOOL_VERSION} from '../version.js';
import {insertAlerts, insertProcesses, insertScan} from './database.js';
import {exportData, type ExportConfig, type ExportResult, type ExportSink} from './export.js';
import {readSnapshotsInRange} from './input.js';
import {exportAsSnapshotFile} from './snapshot-import.js';
import {readSnapshotFile, type SnapshotWriteResult, writeSnapshotBytes, writeSnapshotFile} from './snapshot-file.js';
import {appendToStore, type RetentionPolicy, type StorageLog} from './store.js';

/** A filter over processes (the reference API's ProcessQuery); each `with*` returns a new query. */
export class ProcessQuery {
  constructor(
    readonly pid?: number,
    readonly name?: string,
    readonly scanId?: number,
    /** Scans that started at or after this time, epoch ms. */
    readonly since?: number,
    /** Scans that started at or before this time, epoch ms. */
    readonly until?: number,
  ) {}

  withPid(pid: number): ProcessQuery {
    return new ProcessQuery(pid, this.name, this.scanId, this.since, this.until);
  }

  /** Exact process name (`comm`). */
  withName(name: string): ProcessQuery {
    return new ProcessQuery(this.pid, name, this.scanId, this.since, this.until);
  }

  withScanId(scanId: number): ProcessQuery {
    return new ProcessQuery(this.pid, this.name, scanId, this.since, this.until);
  }

  /** Processes of the scans that started within [start, end] (epoch ms; either end may be left open). */
  withTimeRange(start: number | undefined, end: number | undefined): ProcessQuery {
    return new ProcessQuery(this.pid, this.name, this.scanId, start, end);
  }
}

export interface EventStoreOptions {
  /** For a path that does not exist yet: a single file or a store directory. Existing paths decide themselves. */
  readonly kind?: 'file' | 'store';
  /** Pruning after each write to a store. */
  readonly retention?: RetentionPolicy;
  readonly log?: StorageLog;
  /** Unusable files of a store while reading; reading goes on with the rest. */
  readonly onProblem?: (problem: DaemonEyeError) => void;
  /** Files read that hold objects a snapshot never has (triggers, views: ignoredWarning), one line each; also kept in `warnings`. */
  readonly onWarning?: (warning: string) => void;
}

/** A scan row for processes stored without one: this host, and the span of their collection times. */
function derivedScan(scanId: number, processes: readonly ProcessRecord[]): ScanRecord {
  const times = processes.map((p) => p.collection_time);
  return {
    id: scanId,
    hostname: hostname(),
    host_id: null,
    os: null,
    kernel: release(),
    arch: arch(),
    boot_time: null,
    boot_id: null,
    start_time: Math.min(...times),
    end_time: Math.max(...times),
    process_count: processes.length,
    collector: process.platform === 'linux' ? 'procfs' : 'systeminformation',
    tool_version: TOOL_VERSION,
    ld_so_preload: null,
    decorations: null,
    tables: ['processes'],
    errors: [],
  };
}

export class EventStore {
  /** Unusable files met while reading a store (also passed to onProblem). */
  readonly problems: DaemonEyeError[] = [];
  /** Warnings about the files read (also passed to onWarning): objects a snapshot never has, left unread. */
  readonly warnings: string[] = [];

  private constructor(
    readonly path: string,
    readonly kind: 'file' | 'store',
    private readonly options: EventStoreOptions,
  ) {}

  /** Open a snapshot file or store directory (nothing is read or created yet). */
  static open(path: string, options: EventStoreOptions = {}): EventStore {
    if (existsSync(path)) return new EventStore(path, statSync(path).isDirectory() ? 'store' : 'file', options);
    if (options.kind === undefined) {
      throw new DaemonEyeError('INPUT_NOT_FOUND', `cannot read ${path}: no such file or directory`, {file: path, hint: 'check the path'});
    }
    return new EventStore(path, options.kind, options);
  }

  private onProblem = (problem: DaemonEyeError): void => {
    this.problems.push(problem);
    this.options.onProblem?.(problem);
  };

  private onWarning = (warning: string): void => {
    this.warnings.push(warning);
    this.options.onWarning?.(warning);
  };

  /**
   * Store process records (validated against the model), one scan per distinct scan_id: in a store, a new
   * file per scan plus retention; in a file, the file is rewritten whole (atomically) with the new scans
   * added. `scans` gives their scan rows; missing ones are derived from the records.
   */
  async storeProcesses(
    processes: readonly ProcessRecord[],
    extra: {scans?: readonly ScanRecord[]; alerts?: readonly Alert[]} = {},
  ): Promise<SnapshotWriteResult[]> {
    const valid = processes.map((p) => ProcessRecordSchema.parse(p));
    const byScan = new Map<number, ProcessRecord[]>();
    for (const record of valid) byScan.set(record.scan_id, [...(byScan.get(record.scan_id) ?? []), record]);
    for (const scan of extra.scans ?? []) if (!byScan.has(scan.id)) byScan.set(scan.id, []);
    const scanFor = (id: number, records: ProcessRecord[]): ScanRecord => extra.scans?.find((s) => s.id === id) ?? derivedScan(id, records);
    const alertsFor = (id: number): Alert[] => (extra.alerts ?? []).filter((a) => a.scan_id === id);
    if (this.kind === 'store') {
      const results: SnapshotWriteResult[] = [];
      for (const [id, records] of byScan) {
        results.push(
          await appendToStore(this.path, scanFor(id, records), records, {alerts: alertsFor(id), retention: this.options.retention, log: this.options.log}),
        );
      }
      return results;
    }
    const scans = [...byScan].map(([id, records]) => scanFor(id, records));
    if (!existsSync(this.path)) return [await writeSnapshotFile(this.path, scans, valid, extra.alerts ?? [])];
    const existing = await readSnapshotFile(this.path);
    try {
      for (const scan of scans) insertScan(existing.db, scan);
      insertProcesses(existing.db, valid);
      insertAlerts(existing.db, extra.alerts ?? []);
      // Written as a fresh file of the registry's plain tables (the loaded copy's tables are STRICT).
      const bytes = await exportAsSnapshotFile(existing.db);
      writeSnapshotBytes(this.path, bytes);
      return [{path: this.path, bytes: bytes.length, scanIds: scans.map((s) => s.id), processCount: valid.length, alertCount: extra.alerts?.length ?? 0}];
    } finally {
      existing.db.close();
    }
  }

  /** Matching processes, one file at a time, oldest scan first. */
  async *iterateProcesses(query: ProcessQuery = new ProcessQuery()): AsyncGenerator<ProcessRecord> {
    const columns = PROCESS_RECORD_COLUMNS.map((c) => c.name).join(', ');
    for await (const snapshot of readSnapshotsInRange(this.path, {
      since: query.since,
      until: query.until,
      scanId: query.scanId,
      onProblem: this.onProblem,
      onWarning: this.onWarning,
    })) {
      const clauses = [`scan_id IN (${snapshot.scanIds.map(Number).join(', ')})`];
      const params: (string | number)[] = [];
      if (query.pid !== undefined) {
        clauses.push('pid = ?');
        params.push(query.pid);
      }
      if (query.name !== undefined) {
        clauses.push('name = ?');
        params.push(query.name);
      }
      const statement = snapshot.db.prepare(`SELECT ${columns} FROM processes WHERE ${clauses.join(' AND ')} ORDER BY scan_id, rowid`);
      try {
        statement.bind(params);
        while (statement.step()) yield rowToProcess(statement.getAsObject());
      } finally {
        statement.free();
      }
    }
  }

  /** Matching processes as an array (use iterateProcesses for large stores). */
  async queryProcesses(query: ProcessQuery = new ProcessQuery()): Promise<ProcessRecord[]> {
    const records: ProcessRecord[] = [];
    for await (const record of this.iterateProcesses(query)) records.push(record);
    return records;
  }

  /** Export one table of this file or store (see exportData). */
  async exportData(config: Omit<ExportConfig, 'input'>, sink: Partial<ExportSink> = {}): Promise<ExportResult> {
    const result = await exportData(
      {...config, input: this.path},
      {write: sink.write, onProblem: sink.onProblem ?? this.onProblem, onWarning: sink.onWarning ?? this.onWarning},
    );
    if (sink.onProblem !== undefined) this.problems.push(...result.problems);
    return result;
  }
}
