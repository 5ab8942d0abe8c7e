// DaemonEyeError: every failure the library reports, with a kind (the reference API's error categories, docs/api.md), a
// stable code, and the exit code the CLI turns it into. The exit-code table lives here and nowhere else.

/** Process exit codes (docs/architecture.md, "Exit codes"). */
export const ExitCode = {
  /** Success; nothing at or above `--fail-on`. */
  Success: 0,
  /** The check said no: findings at or above `--fail-on`, failed verification, failed rule test, invalid file. */
  CheckFailed: 1,
  /** Usage or input error: bad flag, invalid configuration, unreadable, corrupt or incompatible input. */
  UsageOrInput: 2,
  /** Runtime failure: I/O error, undeliverable sink, rule timeout, internal error. */
  RuntimeFailure: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A run ended by one of these signals (src/util/interrupt.ts) removes its temp files and locks, then ends
 * by that same signal, as a process without a handler would: its parent sees the signal (a service manager
 * a clean stop) and a shell shows this status, 128 + the signal's number. It is never an ExitCode.
 */
export const SIGNAL_EXIT_STATUS = {SIGHUP: 129, SIGINT: 130, SIGTERM: 143} as const;

/**
 * The exit code of a run where several apply: 2 (could not start: usage or input) over 1 (the check said
 * no) over 3 (partial runtime failure) over 0. A run that both found something and lost a sink says 1:
 * the finding is what a scheduler must act on; the sink failure is reported on stderr and spooled.
 */
export function strongerExitCode(a: ExitCode, b: ExitCode): ExitCode {
  return EXIT_PRECEDENCE.indexOf(a) >= EXIT_PRECEDENCE.indexOf(b) ? a : b;
}

/** Lowest first. */
const EXIT_PRECEDENCE: readonly ExitCode[] = [ExitCode.Success, ExitCode.RuntimeFailure, ExitCode.CheckFailed, ExitCode.UsageOrInput];

/** The strongest of several exit codes (0 when none). */
export function combineExitCodes(codes: readonly ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((a, b) => strongerExitCode(a, b), ExitCode.Success);
}

/** The reference API's error categories (docs/api.md), lower-cased as they appear on the wire. */
export const ERROR_KINDS = ['configuration', 'database', 'detection', 'alerting', 'crypto', 'validation', 'io'] as const;
export type DaemonEyeErrorKind = (typeof ERROR_KINDS)[number];

interface ErrorCodeSpec {
  readonly kind: DaemonEyeErrorKind;
  readonly exit: ExitCode;
  readonly summary: string;
}

/**
 * Every stable error code, its kind and its exit code. Codes never change meaning once released;
 * scripts may match on them (`{"error": {"code": ...}}` under `--log-format json`).
 */
export const ERROR_CODES = {
  // configuration
  CONFIG_FILE_UNREADABLE: {kind: 'configuration', exit: 2, summary: 'a configuration file cannot be read'},
  CONFIG_FILE_MISSING: {kind: 'configuration', exit: 2, summary: 'a configuration file given explicitly does not exist'},
  CONFIG_YAML_SYNTAX: {kind: 'configuration', exit: 2, summary: 'a configuration file is not valid YAML'},
  CONFIG_INVALID: {kind: 'configuration', exit: 2, summary: 'configuration values do not match the schema'},
  CONFIG_ENV_MISSING: {kind: 'configuration', exit: 2, summary: '${VAR} refers to an unset environment variable'},
  CONFIG_KEY_UNKNOWN: {kind: 'configuration', exit: 2, summary: 'a configuration key path does not exist'},
  // usage / validation of inputs
  USAGE: {kind: 'validation', exit: 2, summary: 'invalid command-line usage'},
  INVALID_ARGUMENT: {kind: 'validation', exit: 2, summary: 'a flag or argument value is invalid'},
  INVALID_TIME: {kind: 'validation', exit: 2, summary: 'a time value cannot be parsed'},
  RECORD_INVALID: {kind: 'validation', exit: 2, summary: 'a record does not match its schema'},
  COLLECTOR_UNAVAILABLE: {kind: 'validation', exit: 2, summary: 'the requested process collector cannot run on this system'},
  OUTPUT_REFUSED: {
    kind: 'validation',
    exit: 2,
    summary: 'an output path names what a file must not be written over: a directory, socket, block device, or a link not to be followed',
  },
  // storage / database
  INPUT_NOT_FOUND: {kind: 'database', exit: 2, summary: 'an input file or directory does not exist'},
  INPUT_UNREADABLE: {kind: 'database', exit: 2, summary: 'an input file cannot be read'},
  INPUT_CORRUPT: {kind: 'database', exit: 2, summary: 'an input file is not a valid snapshot'},
  INPUT_INCOMPATIBLE: {kind: 'database', exit: 2, summary: 'an input file has a newer schema version'},
  QUERY_TOO_LARGE: {kind: 'database', exit: 2, summary: 'a query would load more data than allowed'},
  DATABASE_FAILED: {kind: 'database', exit: 3, summary: 'a database operation failed'},
  // detection
  SQL_REFUSED: {kind: 'detection', exit: 2, summary: 'SQL was refused by the validator'},
  RULE_INVALID: {kind: 'detection', exit: 2, summary: 'a rule file is invalid'},
  RULE_DUPLICATE: {kind: 'detection', exit: 2, summary: 'two rules share an id'},
  RULE_NOT_FOUND: {kind: 'detection', exit: 2, summary: 'no rule has the given id'},
  RULE_TIMEOUT: {kind: 'detection', exit: 3, summary: 'a rule exceeded its timeout'},
  RULE_FAILED: {kind: 'detection', exit: 3, summary: 'a rule failed while running'},
  // alerting
  SINK_UNKNOWN: {kind: 'alerting', exit: 2, summary: 'a sink name is not configured'},
  DELIVERY_FAILED: {kind: 'alerting', exit: 3, summary: 'an alert could not be delivered'},
  // crypto
  KEY_UNREADABLE: {kind: 'crypto', exit: 3, summary: 'a key file exists but cannot be used'},
  KEY_INVALID: {kind: 'crypto', exit: 2, summary: 'a key file is not a valid Ed25519 PEM key'},
  KEY_EXISTS: {kind: 'crypto', exit: 2, summary: 'a key file exists and --force was not given'},
  SIGNATURE_INVALID: {kind: 'crypto', exit: 1, summary: 'a signature does not verify'},
  LEDGER_INVALID: {kind: 'crypto', exit: 1, summary: 'the audit ledger failed verification'},
  LEDGER_WRITE_FAILED: {kind: 'io', exit: 3, summary: 'the audit ledger cannot be written'},
  LEDGER_TAIL_CORRUPT: {kind: 'crypto', exit: 3, summary: 'the last ledger record is damaged, so nothing can be appended to it'},
  CHECKPOINT_INVALID: {kind: 'crypto', exit: 2, summary: 'a checkpoint or proof file is not in the expected format'},
  // io
  IO_READ_FAILED: {kind: 'io', exit: 3, summary: 'a file cannot be read'},
  IO_WRITE_FAILED: {kind: 'io', exit: 3, summary: 'a file cannot be written'},
  LOCK_FAILED: {kind: 'io', exit: 3, summary: 'a lock could not be taken in time'},
  PERMISSION_DENIED: {kind: 'io', exit: 3, summary: 'the operating system refused access'},
  STATE_UNSAFE: {kind: 'io', exit: 3, summary: 'a state file or directory is a link, not owned by this user, or writable by others: not used'},
  INTERNAL: {kind: 'io', exit: 3, summary: 'an unexpected internal error'},
} as const satisfies Record<string, ErrorCodeSpec>;
export type ErrorCode = keyof typeof ERROR_CODES;

export interface DaemonEyeErrorOptions {
  /** The file the error is about; shown first in the one-line message. */
  readonly file?: string;
  /** What the user should do about it. */
  readonly hint?: string;
  /** The underlying error, kept for `--verbose`. */
  readonly cause?: unknown;
  /** Further problems of the same failure (e.g. every invalid config key), one per line. */
  readonly details?: readonly string[];
}

export class DaemonEyeError extends Error {
  readonly code: ErrorCode;
  readonly kind: DaemonEyeErrorKind;
  readonly exitCode: ExitCode;
  readonly file?: string;
  readonly hint?: string;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: DaemonEyeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause});
    this.name = 'DaemonEyeError';
    this.code = code;
    this.kind = ERROR_CODES[code].kind;
    this.exitCode = ERROR_CODES[code].exit;
    if (options.file !== undefined) this.file = options.file;
    if (options.hint !== undefined) this.hint = options.hint;
    this.details = options.details ?? [];
  }

  /** One line: where, what, and what to do. */
  toOneLine(): string {
    const where = this.file === undefined || mentionsName(this.message, this.file) ? '' : `${this.file}: `;
    const hint = this.hint === undefined ? '' : ` (${this.hint})`;
    return `${where}${this.message}${hint}`;
  }

  toJSON(): {kind: DaemonEyeErrorKind; code: ErrorCode; message: string; file?: string; details?: string[]} {
    return {
      kind: this.kind,
      code: this.code,
      message: this.toOneLine(),
      ...(this.file === undefined ? {} : {file: this.file}),
      ...(this.details.length === 0 ? {} : {details: [...this.details]}),
    };
  }
}

export function isDaemonEyeError(error: unknown): error is DaemonEyeError {
  return error instanceof DaemonEyeError;
}

/** Node system errors carry a `code` such as ENOENT or EACCES. */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as {code: unknown}).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Wrap a Node file-system error into a DaemonEyeError that names the file and says what to do.
 * `action` is the verb phrase ("read", "write", "create directory").
 */
export function fileError(error: unknown, file: string, action: 'read' | 'write' | 'create' | 'lock' | 'remove'): DaemonEyeError {
  if (isDaemonEyeError(error)) return error;
  const sys = systemErrorCode(error);
  const writing = action !== 'read';
  // Reading a file the user named is an input problem (exit 2); failing to write is a runtime one (3).
  const notFound: ErrorCode = writing ? 'IO_WRITE_FAILED' : 'INPUT_NOT_FOUND';
  const denied: ErrorCode = writing ? 'PERMISSION_DENIED' : 'INPUT_UNREADABLE';
  const other: ErrorCode = writing ? 'IO_WRITE_FAILED' : 'INPUT_UNREADABLE';
  switch (sys) {
    case 'ENOENT':
      return new DaemonEyeError(notFound, `cannot ${action} ${file}: no such file or directory`, {
        file,
        hint: writing ? 'create the parent directory or choose another path' : 'check the path',
        cause: error,
      });
    case 'EACCES':
    case 'EPERM':
      return new DaemonEyeError(denied, `cannot ${action} ${file}: permission denied`, {
        file,
        hint: 'run as a user that may access it, or fix its permissions',
        cause: error,
      });
    case 'ENOSPC':
      return new DaemonEyeError('IO_WRITE_FAILED', `cannot ${action} ${file}: no space left on device`, {file, hint: 'free disk space', cause: error});
    case 'EROFS':
      return new DaemonEyeError('IO_WRITE_FAILED', `cannot ${action} ${file}: read-only file system`, {file, hint: 'choose a writable path', cause: error});
    case 'EISDIR':
      return new DaemonEyeError(other, `cannot ${action} ${file}: it is a directory`, {file, hint: 'give a file path', cause: error});
    default: {
      const detail = error instanceof Error ? error.message : String(error);
      return new DaemonEyeError(other, `cannot ${action} ${file}: ${detail}`, {file, cause: error});
    }
  }
}

/** Characters that may stand right before a path written into a message. */
const BEFORE_NAME = new Set([' ', '\t', '\n', '(', '[', ',']);
/** Characters that may stand right after one (a `.` only where it ends a sentence: see mentionsName). */
const AFTER_NAME = new Set([' ', '\t', '\n', ')', ']', ',', ':', ';']);

/**
 * Whether `text` already names `name` (a file or a field), so a caller need not write it again in front:
 * `text` begins with it (followed by `:`, a space or nothing: `config.yaml:3:1: …`), or holds it quoted
 * (`"…"`, `'…'` or backquotes), or holds it as a word of its own (after a space, bracket or comma) followed by
 * a colon (the `file:line:` of an editor's location) or — for a name holding a `/`, which no word does — by
 * a space, bracket, comma, semicolon or a sentence's full stop. So a file called `f` or `a` is never taken
 * as named by `file` or `not a database`, nor by the path `/x/f`. Linear in the length of `text`. An empty
 * `name` is never named.
 */
export function mentionsName(text: string, name: string): boolean {
  if (name === '') return false;
  if (text.startsWith(name) && (text.length === name.length || text[name.length] === ':' || text[name.length] === ' ')) return true;
  for (const quote of ['"', "'", '`']) if (text.includes(`${quote}${name}${quote}`)) return true;
  const isPath = name.includes('/');
  for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + 1)) {
    const before = at === 0 ? undefined : text[at - 1];
    const end = at + name.length;
    const after = text[end];
    const beforeOk = before === undefined || BEFORE_NAME.has(before);
    const afterOk =
      after === ':' || (isPath && (after === undefined || AFTER_NAME.has(after) || (after === '.' && (end + 1 === text.length || text[end + 1] === ' '))));
    if (beforeOk && afterOk) return true;
  }
  return false;
}
