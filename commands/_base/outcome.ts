// What a command returns: its outcome. A command does its one call into src/ and says what came of it (what
// to print, the exit code it asks for, what the audit ledger records, the stderr lines that follow the
// output); the base command (base-command.ts) presents it, combines the exit code, stamps `exit_code` into
// the audit payload and appends to the ledger, in that order, for every command alike.
import type {AuditAction, AuditPayload} from '../../src/audit/index.js';
import type {DaemonEyeError, ExitCode} from '../../src/errors.js';
import type {OutputFormat} from '../../src/output/format.js';
import type {View} from '../../src/output/view.js';

/**
 * The known fields of a payload schema (zod's loose objects add an index signature, which Omit would keep
 * alone), read-only: a payload's lists may be a result's read-only lists.
 */
type KnownFields<T> = {
  readonly [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] extends (infer E)[] ? readonly E[] : T[K];
};

/**
 * What a command gives the ledger for `action`: the action's payload (src/audit/schema.ts) without `exit_code`,
 * which the base command stamps once the exit code is known. An object with further fields fits (the schema
 * keeps them); a literal names only the schema's fields, so a new field is declared there first.
 */
export type CommandPayload<A extends AuditAction> = Omit<KnownFields<AuditPayload<A>>, 'exit_code'>;

/** One ledger entry to append: an action and its payload, the payload typed by the action. */
export type AuditRecordOf = {[A in AuditAction]: {readonly action: A; readonly payload: CommandPayload<A>}}[AuditAction];

/**
 * The audit decision every outcome states: the entry to append, or `null`, which says in the code that the
 * command records nothing (it only reads or prints). There is no default: an outcome without one does not compile.
 */
export type AuditDecision = AuditRecordOf | null;

/**
 * What goes to stdout: a view in the requested format (`shown`), rows as they are read (`streamed`), text as
 * it is (`text`; made terminal-safe on a terminal like everything else), or null: nothing (or printed while the
 * command ran, as `detect` prints alerts before it delivers them).
 */
export type Output =
  | {readonly kind: 'view'; readonly view: View<unknown>; readonly format: string | undefined; readonly ttyDefault: OutputFormat | undefined}
  | {
      readonly kind: 'stream';
      readonly rows: AsyncIterable<unknown>;
      readonly viewOf: (rows: readonly unknown[]) => View<unknown>;
      readonly format: string | undefined;
    }
  | {readonly kind: 'text'; readonly text: string};

/** A view of the result in `format` (undefined: table on a terminal, else NDJSON; `ttyDefault` replaces table). */
export function shown<Row>(view: View<Row>, format: string | undefined, ttyDefault?: OutputFormat): Output {
  return {kind: 'view', view: view as View<unknown>, format, ttyDefault};
}

/** Rows printed as they are read: NDJSON line by line, other formats once every row is in. */
export function streamed<Row>(rows: AsyncIterable<Row>, viewOf: (rows: readonly Row[]) => View<Row>, format: string | undefined): Output {
  return {kind: 'stream', rows, viewOf: viewOf as (rows: readonly unknown[]) => View<unknown>, format};
}

/** Text printed as it is (DDL, a JSON line already rendered, a list of files). */
export function text(value: string): Output {
  return {kind: 'text', text: value};
}

/**
 * A stderr line that follows the output: a bare report line (a checked file's problem, a test result), or a
 * log line at its level (shown or not by --log-level, --quiet, --verbose). Every one goes through the logger:
 * secrets scrubbed, control characters made visible.
 */
export type ReportLine = string | {readonly info: string} | {readonly warn: string} | {readonly error: string} | {readonly debug: string};

/** The phases of a run for `--log-level debug`; the base command adds `render_ms`, `audit_ms` and `total_ms`. */
export interface Timing {
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A command that did its work. */
export interface Completed {
  readonly output: Output | null;
  /** The exit code the result asks for; the base keeps the stronger of it and any code a failure of its own set (2 > 1 > 3 > 0). */
  readonly exitCode: ExitCode;
  readonly audit: AuditDecision;
  /** Stderr lines written after the output, in order. */
  readonly report?: readonly ReportLine[];
  readonly timing?: Timing;
}

/**
 * A command that refused to run, with the ledger entry the refusal leaves (probing the SQL sandbox leaves a
 * trace): the base appends the entry, with the error's exit code, then reports the error as any other.
 */
export interface Refused {
  readonly refused: DaemonEyeError;
  readonly audit: AuditDecision;
}

export type CommandOutcome = Completed | Refused;
