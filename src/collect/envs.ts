// A process's environment (/proc/PID/environ: NUL-separated `NAME=value` entries, bytes) read as it streams
// past: the walk keeps LD_PRELOAD and LD_AUDIT for the `processes` columns and the variables named in
// collection.env_variables for process_envs, and nothing else. The environment is the process's own text, as
// long as whoever started it chose (up to about 6 MiB, each entry up to 128 KiB) and rewritable at run time,
// so it is never held whole: EnvironSelector takes it a chunk at a time and holds only the entries it keeps
// (and the start of an entry a chunk boundary split, while its name is not yet known). Secret values are
// redacted with every other table by the column's kind (`value`: an environment value named by `key`,
// src/collect/redact.ts).
//
// A name the environment holds more than once (only a hand-built execve makes one: every shell and setenv(3)
// keep one entry per name) means different things to different readers, checked on glibc 2.36, bash 5.2 and
// dash 0.5.12: getenv(3), Python's os.environ and musl's dynamic loader take the FIRST entry; glibc's ld.so
// takes the LAST LD_PRELOAD (and LD_LIBRARY_PATH) and loads EVERY LD_AUDIT; bash and dash take the last value
// of a variable (and export only it). So the selector keeps what any of them would act on: the first and the
// last value of each selected name, and every LD_AUDIT.
import type {CollectedRow, ProcessEnvRow} from '../models/live-tables.js';
import {escapeBytes, escapeLatin1} from './text-encoding.js';

export interface EnvSelection {
  /** Names to keep, exact and case-sensitive as the environment is (in the one text form, escapeBytes). */
  readonly names: ReadonlySet<string>;
}

/** One variable kept for process_envs: its name and value in the one text form. */
export interface EnvEntry {
  readonly key: string;
  readonly value: string;
}

/** What the selector kept of one environ. */
export interface SelectedEnviron {
  /**
   * The selected names' entries, in the order each name first appears: its first value and, when the
   * environment holds the name again with another value, its last value too (a second entry of the same key).
   */
  readonly entries: readonly EnvEntry[];
  /**
   * LD_PRELOAD's bytes as the loaders read it: its value; when the environment holds it more than once with
   * different values, the first (musl's loader, getenv) and the last (glibc's ld.so) joined by `:`, one of
   * LD_PRELOAD's own separators. Null when unset.
   */
  readonly ldPreload: Buffer | null;
  /** LD_AUDIT's bytes: every distinct value, in order, joined by `:` (glibc's ld.so loads every one). Null when unset. */
  readonly ldAudit: Buffer | null;
}

const NUL = 0;
const EQUALS = 0x3d;
const LD_PRELOAD = Buffer.from('LD_PRELOAD', 'latin1');
const LD_AUDIT = Buffer.from('LD_AUDIT', 'latin1');
/** How many bytes a loop in JavaScript looks through for an entry's end before asking Buffer.indexOf (a native call costs about as much as this many bytes). */
const SHORT_SCAN = 48;

/**
 * The selected entries of one environ, fed a chunk at a time (push), in order, then ended (end). Chunks may
 * split an entry anywhere, its name included: the result is the same however the bytes are cut into chunks.
 * Holds, besides what it keeps, at most the start of one entry a chunk boundary split (its name, while the
 * name is not yet known, or a kept entry's bytes so far). Cost: one look at each entry's first byte, then
 * native searches for the NUL ending it; an entry that may be selected costs a look at its name.
 */
export class EnvironSelector {
  /** The first byte of an entry whose name may be kept (a name's escaped form may start with any byte ≥ 0x80, a control byte or `\`). */
  private readonly firstBytes = new Uint8Array(256);
  /** The most bytes a kept name can take, raw (an escaped character stands for at most 3 bytes of UTF-8, and `\xHH` for 1). */
  private readonly longestName: number;
  private readonly names: ReadonlySet<string>;

  /** Bytes of the entry a chunk boundary split, kept while it may be selected (null: none, or it is being skipped). */
  private partial: Buffer[] | null = null;
  private partialLength = 0;
  /** Whether the split entry's name is known to be kept (false: not known yet). */
  private partialKept = false;
  /** Inside an entry already known not to be kept: skip to its NUL. */
  private skipping = false;

  private readonly first = new Map<string, string>();
  private readonly last = new Map<string, string>();
  private preloadFirst: Buffer | null = null;
  private preloadLast: Buffer | null = null;
  private readonly audits: Buffer[] = [];
  private readonly auditSeen = new Set<string>();

  constructor(selection: EnvSelection) {
    this.names = selection.names;
    let longest = LD_PRELOAD.length;
    const mark = (byte: number): void => {
      this.firstBytes[byte] = 1;
    };
    mark(0x4c); // L: LD_PRELOAD, LD_AUDIT
    for (const name of selection.names) {
      longest = Math.max(longest, 3 * name.length);
      const code = name.charCodeAt(0);
      if (code >= 0x20 && code < 0x7f && code !== 0x5c) mark(code);
      else {
        // A name whose escaped form starts with `\` or a character past ASCII: any byte that is not plain ASCII.
        for (let byte = 0; byte < 0x20; byte++) mark(byte);
        for (let byte = 0x7f; byte < 0x100; byte++) mark(byte);
        mark(0x5c);
      }
    }
    this.firstBytes[NUL] = 0;
    this.longestName = longest;
  }

  /** The next `length` bytes of the environ, from `chunk[0]` (valid only during the call: nothing is kept by reference). */
  push(chunk: Buffer, length = chunk.length): void {
    let at = 0;
    while (at < length) {
      if (this.skipping) {
        const nul = this.findNul(chunk, at, length);
        if (nul < 0) return;
        this.skipping = false;
        at = nul + 1;
        continue;
      }
      if (this.partial !== null) {
        at = this.continuePartial(chunk, at, length);
        continue;
      }
      const byte = chunk[at] as number;
      if (byte === NUL) {
        // An empty entry (a run of NULs): nothing to keep.
        at++;
        continue;
      }
      if (this.firstBytes[byte] === 0) {
        this.skipping = true;
        continue;
      }
      const nul = this.findNul(chunk, at, length);
      const end = nul < 0 ? length : nul;
      const verdict = this.judge(chunk, at, end, nul >= 0);
      if (nul >= 0) {
        if (verdict === 'keep') this.take(chunk.subarray(at, nul));
        at = nul + 1;
      } else {
        // The entry goes on in the next chunk.
        if (verdict === 'skip') this.skipping = true;
        else this.startPartial(chunk.subarray(at, length), verdict === 'keep');
        return;
      }
    }
  }

  /**
   * The environ ended: `whole`, at the end of the file (an entry without a NUL after it is whole, as a process
   * that rewrote its environ may leave it), or cut short by a read limit (the entry the cut split is not kept:
   * its value would be a piece). Returns what was kept; the selector is spent.
   */
  end(whole: boolean): SelectedEnviron {
    if (this.partial !== null && whole) {
      const entry = Buffer.concat(this.partial, this.partialLength);
      if (this.judge(entry, 0, entry.length, true) === 'keep') this.take(entry);
    }
    this.partial = null;
    const entries: EnvEntry[] = [];
    for (const [key, value] of this.first) {
      entries.push({key, value});
      const last = this.last.get(key);
      if (last !== undefined && last !== value) entries.push({key, value: last});
    }
    const preload =
      this.preloadFirst === null || this.preloadLast === null || this.preloadFirst.equals(this.preloadLast)
        ? this.preloadFirst
        : Buffer.concat([this.preloadFirst, Buffer.from(':'), this.preloadLast]);
    const audit = this.audits.length === 0 ? null : this.audits.length === 1 ? (this.audits[0] as Buffer) : joinBytes(this.audits);
    return {entries, ldPreload: preload, ldAudit: audit};
  }

  /** The next NUL at or after `from` before `end`, or -1: a short look in JavaScript, then a native search (long values). */
  private findNul(chunk: Buffer, from: number, end: number): number {
    const stop = Math.min(end, from + SHORT_SCAN);
    for (let i = from; i < stop; i++) if (chunk[i] === NUL) return i;
    if (stop === end) return -1;
    const nul = chunk.indexOf(NUL, stop);
    return nul < 0 || nul >= end ? -1 : nul;
  }

  /**
   * Whether the entry starting at `bytes[start]` is kept, from its bytes up to `end` (`complete`: the whole
   * entry): `keep`, `skip`, or `more` when its name may still be one kept and goes on past `end`.
   */
  private judge(bytes: Buffer, start: number, end: number, complete: boolean): 'keep' | 'skip' | 'more' {
    const look = Math.min(end, start + this.longestName + 1);
    let eq = -1;
    for (let i = start; i < look; i++) {
      if (bytes[i] === EQUALS) {
        eq = i;
        break;
      }
    }
    if (eq < 0) return complete || look - start > this.longestName ? 'skip' : 'more';
    // An entry starting with `=` has no name (getenv never finds it).
    if (eq === start) return 'skip';
    const name = bytes.subarray(start, eq);
    if (name.equals(LD_PRELOAD) || name.equals(LD_AUDIT)) return 'keep';
    return this.names.has(escapeLatin1(name.toString('latin1'))) ? 'keep' : 'skip';
  }

  private startPartial(bytes: Buffer, kept: boolean): void {
    this.partial = [Buffer.from(bytes)];
    this.partialLength = bytes.length;
    this.partialKept = kept;
  }

  /** Go on with the entry a chunk boundary split: keep its bytes while it may be kept; returns where the next entry starts (or `length`). */
  private continuePartial(chunk: Buffer, at: number, length: number): number {
    const parts = this.partial as Buffer[];
    const nul = this.findNul(chunk, at, length);
    const end = nul < 0 ? length : nul;
    parts.push(Buffer.from(chunk.subarray(at, end)));
    this.partialLength += end - at;
    if (!this.partialKept) {
      // Its name was not known yet (what was held is at most a name's length): judge it with what is here now.
      const head = Buffer.concat(parts, this.partialLength);
      const verdict = this.judge(head, 0, head.length, nul >= 0);
      if (verdict === 'skip') {
        this.partial = null;
        this.skipping = nul < 0;
        return nul < 0 ? length : nul + 1;
      }
      this.partial = [head];
      this.partialKept = verdict === 'keep';
    }
    if (nul < 0) return length;
    const entry = Buffer.concat(this.partial ?? parts, this.partialLength);
    this.partial = null;
    this.take(entry);
    return nul + 1;
  }

  /** A whole entry to keep (`NAME=value`, its name judged kept). */
  private take(entry: Buffer): void {
    const eq = entry.indexOf(EQUALS);
    const name = entry.subarray(0, eq);
    const value = entry.subarray(eq + 1);
    if (name.equals(LD_PRELOAD)) {
      const copy = Buffer.from(value);
      this.preloadFirst ??= copy;
      this.preloadLast = copy;
    } else if (name.equals(LD_AUDIT)) {
      const text = value.toString('latin1');
      if (!this.auditSeen.has(text)) {
        this.auditSeen.add(text);
        this.audits.push(Buffer.from(value));
      }
    }
    const key = escapeLatin1(name.toString('latin1'));
    if (!this.names.has(key)) return;
    const text = escapeBytes(value);
    if (this.first.has(key)) this.last.set(key, text);
    else this.first.set(key, text);
  }
}

/** Byte strings joined by `:`. */
function joinBytes(parts: readonly Buffer[]): Buffer {
  const pieces: Buffer[] = [];
  const colon = Buffer.from(':');
  parts.forEach((part, index) => {
    if (index > 0) pieces.push(colon);
    pieces.push(part);
  });
  return Buffer.concat(pieces);
}

/** What EnvironSelector keeps of a whole environ in hand (bytes, or a latin1 string: one character per byte). */
export function selectEnviron(environ: Buffer | string, selection: EnvSelection): SelectedEnviron {
  const selector = new EnvironSelector(selection);
  selector.push(typeof environ === 'string' ? Buffer.from(environ, 'latin1') : environ);
  return selector.end(true);
}

/** process_envs rows of one process from what its environ gave (selectEnviron, EnvironSelector). */
export function envRows(pid: number, entries: readonly EnvEntry[]): CollectedRow<ProcessEnvRow>[] {
  return entries.map(({key, value}) => ({pid, key, value}));
}
