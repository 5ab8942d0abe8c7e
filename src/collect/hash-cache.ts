// The executable hash cache (`<state dir>/hash-cache.json`): a digest is reused only while the file it was
// computed from has the same device, inode, size, modification time and change time. Writing to a file, or
// replacing it, changes its ctime (or its inode), and ctime cannot be set back from user space, so a changed
// binary is always hashed again. Hashing the same large binaries (node, dockerd, kubelet: 50–100 MB each) on
// every cron run is most of a scan's time; osquery keeps a cache on the same principle.
// The cache is an optimisation only: missing, unreadable, corrupt or foreign files are ignored and rebuilt.
import {SHA256_HEX} from '../models/process.js';
import {readStateFile, writeStateFile} from '../util/state-file.js';
import {isDaemonEyeError} from '../errors.js';
import {parseJson} from '../util/json.js';

const CACHE_FORMAT = 1;
/** Entries kept, most recently used first; a host runs far fewer distinct executables. */
export const HASH_CACHE_MAX_ENTRIES = 4096;
/** Entries not used for this long are dropped when the cache is next written. */
export const HASH_CACHE_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * A file changed this recently is hashed but not cached: on a file system with coarse timestamps a second
 * write within the same tick would leave size, mtime and ctime as they were (git's "racily clean" rule).
 */
export const HASH_CACHE_RACY_WINDOW_MS = 2000;
/** A larger file is not a cache this tool wrote: ignore it rather than parse it. */
const MAX_CACHE_FILE_BYTES = 8 * 1024 * 1024;

/** What identifies one version of a file: a digest is valid only for exactly this. */
export interface FileIdentity {
  readonly device: number;
  readonly inode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

interface CacheEntry {
  readonly size: number;
  readonly mtime_ms: number;
  readonly ctime_ms: number;
  readonly sha256: string;
  /** When a run last used or computed it (epoch ms). */
  seen: number;
}

const keyOf = (id: FileIdentity): string => `${id.device}:${id.inode}`;

function isEntry(value: unknown): value is CacheEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.size === 'number' &&
    typeof e.mtime_ms === 'number' &&
    typeof e.ctime_ms === 'number' &&
    typeof e.seen === 'number' &&
    typeof e.sha256 === 'string' &&
    SHA256_HEX.test(e.sha256)
  );
}

export class HashCache {
  private readonly entries = new Map<string, CacheEntry>();
  private dirty = false;
  hits = 0;
  /** Why the file on disk was not used (corrupt, unreadable), for a debug line; null when it was or was absent. */
  loadProblem: string | null = null;

  private constructor(
    readonly path: string,
    private readonly clock: () => number,
  ) {}

  /** The cache at `path`; an absent, unreadable or malformed file gives an empty cache. Never throws. */
  static load(path: string, options: {clock?: () => number} = {}): HashCache {
    const cache = new HashCache(path, options.clock ?? Date.now);
    let text: string;
    try {
      // Never through a link, only a file of this user (src/util/state-file.ts): a planted cache could vouch for a changed binary.
      const bytes = readStateFile(path, {what: 'hash cache', maxBytes: MAX_CACHE_FILE_BYTES});
      if (bytes === undefined) return cache;
      text = bytes.toString('utf8');
    } catch (error) {
      const problem = isDaemonEyeError(error) ? error.toOneLine() : (error as Error).message;
      cache.loadProblem = `the hash cache could not be used (${problem}); every executable was hashed and the cache rebuilt`;
      cache.dirty = true;
      return cache;
    }
    try {
      const data = parseJson(text) as {format?: unknown; entries?: unknown};
      if (data.format !== CACHE_FORMAT || typeof data.entries !== 'object' || data.entries === null) throw new Error('not a DaemonEye hash cache');
      for (const [key, entry] of Object.entries(data.entries as Record<string, unknown>)) {
        if (/^\d+:\d+$/.test(key) && isEntry(entry)) cache.entries.set(key, {...entry});
      }
    } catch (error) {
      cache.loadProblem = `the hash cache ${path} is unusable (${(error as Error).message}); every executable was hashed and the cache rebuilt`;
      cache.dirty = true;
    }
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The digest recorded for exactly this file version, if any. */
  lookup(id: FileIdentity): string | undefined {
    const entry = this.entries.get(keyOf(id));
    if (entry === undefined || entry.size !== id.size || entry.mtime_ms !== id.mtimeMs || entry.ctime_ms !== id.ctimeMs) return undefined;
    this.hits++;
    // Refreshing `seen` alone does not make the cache worth rewriting: it is refreshed when something new is saved.
    entry.seen = this.clock();
    return entry.sha256;
  }

  /** Remember a digest computed from this file version; returns false when the file changed too recently to trust its times. */
  record(id: FileIdentity, sha256: string): boolean {
    const now = this.clock();
    if (now - Math.max(id.mtimeMs, id.ctimeMs) < HASH_CACHE_RACY_WINDOW_MS) return false;
    this.entries.set(keyOf(id), {size: id.size, mtime_ms: id.mtimeMs, ctime_ms: id.ctimeMs, sha256, seen: now});
    this.dirty = true;
    return true;
  }

  /**
   * Write the cache (atomically, mode 0600) when something new was recorded, keeping the most recently used
   * entries. Returns whether it wrote; throws the DaemonEyeError of a failed write.
   */
  save(): boolean {
    if (!this.dirty) return false;
    const now = this.clock();
    const kept = [...this.entries]
      .filter(([, entry]) => now - entry.seen <= HASH_CACHE_MAX_AGE_MS)
      .sort(([, a], [, b]) => b.seen - a.seen)
      .slice(0, HASH_CACHE_MAX_ENTRIES);
    writeStateFile(this.path, `${JSON.stringify({format: CACHE_FORMAT, algorithm: 'sha256', entries: Object.fromEntries(kept)})}\n`, {what: 'hash cache'});
    this.dirty = false;
    return true;
  }
}
