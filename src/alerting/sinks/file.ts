// FileSink: alerts appended as NDJSON (the alert record, or ECS or OCSF: `format`) under the file's lock, one write per line, then fsync, so
// concurrent runs never interleave lines; optional size rotation to <path>.1 … <path>.<max_files>.
// The file is opened as state (src/util/state-file.ts): never through a symbolic link, a regular file of
// this user with one name only, so a link planted at the path cannot make alerts land in its target.
import {accessSync, closeSync, constants, existsSync, fstatSync, fsyncSync, readSync, renameSync, rmSync, statSync, writeSync} from 'node:fs';
import {dirname} from 'node:path';

import type {SinkConfig} from '../../config/schema.js';
import {fileError} from '../../errors.js';
import type {Alert} from '../../models/alert.js';
import {alertDocument, type AlertSchemaName, loadEcsOcsf} from '../../output/alert-formats.js';
import {renderNdjsonLine} from '../../output/render.js';
import {withLock} from '../../util/lock.js';
import {kernelFilesystemOf, kernelFilesystemRefusal} from '../../util/output-file.js';
import {openStateFile} from '../../util/state-file.js';
import type {AlertSink, SinkKind, SinkProbeResult, SinkSendOptions, SinkSendResult} from '../types.js';

export type FileSinkConfig = Extract<SinkConfig, {type: 'file'}>;

function writeWhole(fd: number, data: Buffer, path: string): void {
  // A regular file takes the whole buffer in one write(2) short of a full disk; loop only for that case.
  let offset = 0;
  try {
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
  } catch (error) {
    throw fileError(error, path, 'write');
  }
}

function endsWithNewline(fd: number, size: number): boolean {
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

export class FileSink implements AlertSink {
  readonly type = 'file' as const;
  readonly name: string;

  /** The shape of each line: the alert record (`format: ndjson` or unset), ECS or OCSF. */
  private readonly schema: AlertSchemaName;

  constructor(private readonly config: FileSinkConfig) {
    this.name = config.name;
    this.schema = config.format === 'ecs' || config.format === 'ocsf' ? config.format : 'native';
  }

  /** path → path.1 → … → path.max_files (the oldest is removed). */
  private rotate(): void {
    const {path, max_files: maxFiles} = this.config;
    rmSync(`${path}.${maxFiles}`, {force: true});
    for (let index = maxFiles - 1; index >= 1; index--) {
      if (existsSync(`${path}.${index}`)) renameSync(`${path}.${index}`, `${path}.${index + 1}`);
    }
    renameSync(path, `${path}.1`);
  }

  async send(alerts: readonly Alert[], options: SinkSendOptions): Promise<SinkSendResult> {
    const delivered = alerts.map(() => false);
    if (alerts.length === 0) return {delivered, attempts: 0, status: null, error: null};
    const path = this.config.path;
    try {
      // On /proc or /sys the lock and the file cannot be made, and the kernel's ENOENT would send the user
      // looking for a missing directory: said as what it is (the alerts stay spooled).
      const kernel = kernelFilesystemOf(path);
      if (kernel !== undefined) throw kernelFilesystemRefusal(path, 'file sink', kernel);
      await loadEcsOcsf(this.schema);
      await withLock(path, () => this.appendLocked(alerts, delivered, options), {timeoutMs: Math.max(1, options.deadline - Date.now())});
      return {delivered, attempts: 1, status: null, error: null};
    } catch (error) {
      const message = error instanceof Error && 'toOneLine' in error ? (error as {toOneLine(): string}).toOneLine() : String(error);
      return {delivered, attempts: 1, status: null, error: message};
    }
  }

  private appendLocked(alerts: readonly Alert[], delivered: boolean[], options: SinkSendOptions): void {
    const path = this.config.path;
    const maxBytes = this.config.max_bytes;
    let fd: number | undefined;
    const open = (): number => {
      try {
        return openStateFile(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, {what: 'file sink', singleLink: true, mode: 0o640}) as number;
      } catch (error) {
        throw fileError(error, path, 'write');
      }
    };
    try {
      fd = open();
      let size = fstatSync(fd).size;
      let pendingNewline = false;
      if (!endsWithNewline(fd, size)) {
        // A run killed mid-append left a torn line: keep it (it is evidence) but start ours on a fresh line.
        options.warn?.(`${path}: the last line is torn (a run was interrupted while appending); new alerts start on a new line`);
        pendingNewline = true;
      }
      for (const [index, alert] of alerts.entries()) {
        if (options.signal.aborted) break;
        const record = renderNdjsonLine(alertDocument(alert, this.schema));
        if (maxBytes !== null && size > 0 && size + Buffer.byteLength(record) > maxBytes) {
          fsyncSync(fd);
          closeSync(fd);
          fd = undefined;
          try {
            this.rotate();
          } catch (error) {
            throw fileError(error, path, 'write');
          }
          fd = open();
          size = 0;
          pendingNewline = false;
        }
        const line = Buffer.from(pendingNewline ? `\n${record}` : record, 'utf8');
        writeWhole(fd, line, path);
        pendingNewline = false;
        size += line.length;
        delivered[index] = true;
      }
      fsyncSync(fd);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

/** Whether the file can be appended to, or created with its directories under the nearest one that exists. */
function probeFile(config: FileSinkConfig): SinkProbeResult {
  const kernel = kernelFilesystemOf(config.path);
  if (kernel !== undefined)
    return {reachable: false, detail: `${config.path} is on ${kernel}, a kernel interface, not a place for files: give a path on a disk`};
  if (existsSync(config.path)) {
    accessSync(config.path, constants.W_OK);
    return {reachable: true, detail: `${config.path} is writable`};
  }
  // A run creates the missing directories: judge the nearest one that exists.
  let ancestor = dirname(config.path);
  while (!existsSync(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
  if (!statSync(ancestor).isDirectory()) return {reachable: false, detail: `${config.path}: ${ancestor} is not a directory`};
  accessSync(ancestor, constants.W_OK);
  const created = ancestor === dirname(config.path) ? 'will be created' : `will be created with its directories under ${ancestor}`;
  return {reachable: true, detail: `${config.path} ${created} (${ancestor} is writable)`};
}

/** The file sink kind: no secret in its settings; healthy when the file (or its directory) is writable. */
export const FILE_SINK: SinkKind<FileSinkConfig> = {
  type: 'file',
  create: (config) => new FileSink(config),
  secrets: () => [],
  probe: async (config) => probeFile(config),
  where: (config) => config.path,
};
