// The one base class of every command: shared flags, configuration loading, the stderr logger, and the
// single place where an outcome is presented (output, stderr report, exit code, audit entry: outcome.ts) and
// where an error becomes a one-line message and an exit code (docs/architecture.md, "Exit codes").
import {userInfo} from 'node:os';

import {Command, Flags, type Interfaces} from '@oclif/core';

import {type Config, loadConfig} from '../../src/config/builder.js';
import {writtenPathProblem} from '../../src/config/schema.js';
import {secretValues} from '../../src/config/redact.js';
import {DaemonEyeError, ExitCode, isDaemonEyeError, strongerExitCode} from '../../src/errors.js';
import {type Palette, paletteFor, PLAIN} from '../../src/output/colour.js';
import {colourEnabled, type OutputFormat, resolveFormat} from '../../src/output/format.js';
import {terminalOutput} from '../../src/output/terminal.js';
import {renderViewPieces, type View} from '../../src/output/view.js';
import {OutputClosed, stdoutWriter, writePieces} from '../../src/output/write-pieces.js';
import {Logger, type LogLevel} from '../../src/output/logger.js';
import {MetricsCollector} from '../../src/telemetry/metrics.js';
import {countGarbageCollections, readThreadCpu} from '../../src/telemetry/thread-cpu.js';
import {runInterruptUndos} from '../../src/util/interrupt.js';
import {preflightOutput} from '../../src/util/output-file.js';
import {applyConfigFlags, configFlags} from './config-flags.js';
import {refuseEmptyValues} from './flags.js';
import type {AuditDecision, CommandOutcome, Output, ReportLine} from './outcome.js';

export type DaemonEyeFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof DaemonEyeCommand)['baseFlags'] & T['flags']>;
export type DaemonEyeArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/** The base flags' values, typed once (before parsing, and for a usage error, none is set). */
export type BaseFlagValues = Partial<Interfaces.InferredFlags<(typeof DaemonEyeCommand)['baseFlags']>>;

export abstract class DaemonEyeCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    config: Flags.string({
      summary: 'Configuration file, layered over the system and user files.',
      helpGroup: 'GLOBAL',
    }),
    ...configFlags('log-level', 'log-format'),
    verbose: Flags.boolean({summary: 'Debug logging and stack traces.', helpGroup: 'GLOBAL', exclusive: ['quiet']}),
    quiet: Flags.boolean({summary: 'Log errors only.', helpGroup: 'GLOBAL'}),
    'no-audit': Flags.boolean({summary: 'Do not record this run in the audit ledger.', helpGroup: 'GLOBAL'}),
    ...configFlags('metrics-file'),
  };

  protected flags!: DaemonEyeFlags<T>;
  protected args!: DaemonEyeArgs<T>;
  /** The base flags of this run, typed; empty until parsed. */
  private base: BaseFlagValues = {};
  /** The `--format` asked for, if the command has one (JSON output makes JSON logs). */
  private requestedFormat: string | undefined;
  /** Every positional argument, for commands that take a variable number (`static strict = false`). */
  protected positional: string[] = [];
  /** Metrics of this run, filled by the command from its library result; written by `--metrics-file`. */
  protected readonly metrics = new MetricsCollector();
  private readonly startedAtMs = Date.now();
  private currentLogger: Logger | undefined;
  private stderrPalette: Palette = PLAIN;
  private loadedConfig: Config | undefined;
  /** The metrics file was refused before the work (said once): not tried again at the end. */
  private metricsRefused = false;

  override async init(): Promise<void> {
    await super.init();
    // A throw outside every awaited call (a library's callback: systeminformation's exec on a host whose
    // command line it cannot build) would end the run with Node's stack trace and exit 1, "the check said no".
    // It is reported as the internal error it is, in the run's log format, and ends the run with exit 3, its
    // temp files and locks removed as on a signal.
    process.once('uncaughtException', (error) => this.crashed(error));
    // Before parsing, so even a usage error is coloured on a terminal; no TTY, no chalk loaded.
    this.stderrPalette = await paletteFor(process.stderr);
    const {args, argv, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof DaemonEyeCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    refuseEmptyValues({...(super.ctor as typeof DaemonEyeCommand).baseFlags, ...this.ctor.flags}, flags);
    this.flags = flags as DaemonEyeFlags<T>;
    this.args = args as DaemonEyeArgs<T>;
    this.positional = argv.map(String);
    const parsed: BaseFlagValues & {format?: unknown} = flags;
    this.base = parsed;
    this.requestedFormat = typeof parsed.format === 'string' ? parsed.format : undefined;
  }

  /** The command's work: flags → one call into src/ → its outcome (outcome.ts), which `run` presents. */
  protected abstract execute(): Promise<CommandOutcome>;

  /**
   * Run the command and present its outcome, the same for every command: print the output, write the report
   * lines, keep the stronger exit code, append the audit entry with `exit_code` stamped. A refusal appends its
   * entry, then is thrown to `catch` like any error.
   */
  async run(): Promise<void> {
    // Debug asked for on the command line: the garbage collections of the command's work are counted for its timing line.
    const gcTotals = this.logger.enabled('debug') ? countGarbageCollections() : undefined;
    const outcome = await this.execute();
    if ('refused' in outcome) {
      await this.record(outcome.audit, outcome.refused.exitCode);
      throw outcome.refused;
    }
    const renderFrom = performance.now();
    await this.print(outcome.output);
    const renderMs = performance.now() - renderFrom;
    for (const line of outcome.report ?? []) this.reportLine(line);
    this.setExitCode(outcome.exitCode);
    const auditFrom = performance.now();
    await this.record(outcome.audit, this.currentExitCode);
    const gc = gcTotals?.();
    if (outcome.timing !== undefined) {
      this.logger.debug(outcome.timing.message, {
        ...outcome.timing.fields,
        render_ms: Math.round(renderMs),
        audit_ms: Math.round(performance.now() - auditFrom),
        total_ms: Math.round(performance.now()),
        // Where the CPU went, by thread (docs/performance.md, "CPU by thread").
        ...(this.logger.enabled('debug') ? {...readThreadCpu(), ...gc} : {}),
      });
    }
  }

  /** Print an outcome's output (nothing for null). */
  private async print(output: Output | null): Promise<void> {
    if (output === null) return;
    if (output.kind === 'view') await this.present(output.format, output.view, output.ttyDefault);
    else if (output.kind === 'stream') await this.presentStream(output.format, output.rows, output.viewOf);
    else await this.write(output.text);
  }

  /** Colours for stdout (severities, health states): PLAIN unless stdout is a terminal without NO_COLOR. */
  protected async stdoutPalette(): Promise<Palette> {
    return paletteFor(process.stdout);
  }

  /** The stderr logger, honouring --verbose, --quiet, --log-level and, once loaded, the configuration. */
  protected get logger(): Logger {
    if (this.currentLogger === undefined) {
      const {base} = this;
      const configured = this.loadedConfig?.values.app;
      const level: LogLevel = base.verbose === true ? 'debug' : base.quiet === true ? 'error' : (base['log-level'] ?? configured?.log_level ?? 'info');
      const format = base['log-format'] ?? (this.requestedFormat === 'json' ? 'json' : (configured?.log_format ?? 'text'));
      this.currentLogger = new Logger({level, format, palette: this.stderrPalette});
      // Every secret value of the configuration is scrubbed from whatever the logger writes, quoted or not.
      if (this.loadedConfig !== undefined) for (const secret of secretValues(this.loadedConfig.values)) this.currentLogger.addSecret(secret);
    }
    return this.currentLogger;
  }

  /**
   * Load the layered configuration, with every configuration flag the command declares (config-flags.ts) and
   * was given laid over it.
   */
  protected loadConfig(): Config {
    const config = loadConfig({
      configFile: this.base.config,
      cliArgs: applyConfigFlags({...this.ctor.baseFlags, ...this.ctor.flags}, {...this.base, ...this.flags}),
    });
    this.loadedConfig = config;
    this.currentLogger = undefined;
    // The metrics file is written at the end; a path that cannot be written is said now, before the work.
    const metricsPath = this.metricsPath();
    if (metricsPath !== undefined) {
      try {
        preflightOutput(metricsPath, {what: 'metrics file'});
      } catch (error) {
        this.metricsRefused = true;
        throw error;
      }
    }
    return config;
  }

  /** The output format: the one asked for, else `ttyDefault` (table) on a terminal and NDJSON when piped. */
  protected outputFormat(requested: string | undefined, ttyDefault: OutputFormat = 'table'): OutputFormat {
    return resolveFormat(requested, {isTTY: process.stdout.isTTY === true, pipedDefault: 'ndjson', ttyDefault});
  }

  /**
   * Print a command's result in the requested format (else table on a terminal, NDJSON when piped): the one
   * `--format` dispatch of every command (src/output/view.ts), written a piece at a time as it is rendered.
   * Returns the format used.
   */
  protected async present<Row>(requested: string | undefined, view: View<Row>, ttyDefault: OutputFormat = 'table'): Promise<OutputFormat> {
    const format = this.outputFormat(requested, ttyDefault);
    const human = format !== 'json' && format !== 'ndjson' && format !== 'csv';
    const palette = human ? await this.stdoutPalette() : PLAIN;
    const width = process.stdout.isTTY === true ? (process.stdout.columns > 0 ? process.stdout.columns : 80) : undefined;
    await view.prepare?.(format);
    await this.write(renderViewPieces(format, view, {width, palette, tty: width !== undefined}), palette !== PLAIN);
    return format;
  }

  /** As present, for rows read one by one: NDJSON lines are written as each row arrives, other formats at the end. */
  private async presentStream<Row>(
    requested: string | undefined,
    rows: AsyncIterable<Row>,
    viewOf: (rows: readonly Row[]) => View<Row>,
  ): Promise<OutputFormat> {
    const format = this.outputFormat(requested);
    const kept: Row[] = [];
    for await (const row of rows) {
      if (format === 'ndjson') await this.write(renderViewPieces('ndjson', viewOf([row])));
      else kept.push(row);
    }
    return format === 'ndjson' ? format : this.present(format, viewOf(kept));
  }

  /**
   * Append an outcome's audit entry to the ledger with `exit_code` stamped (and sign a checkpoint when a key
   * exists), honouring audit.enabled and --no-audit; nothing for null. A ledger or key that fails is reported
   * and makes the exit code 3 (unless a stronger one is set); the command's output stands.
   */
  private async record(decision: AuditDecision, exitCode: number): Promise<void> {
    if (decision === null) return;
    const {action} = decision;
    const payload = {...decision.payload, exit_code: exitCode};
    try {
      const config = this.loadedConfig ?? this.loadConfig();
      const noAudit = this.base['no-audit'] === true;
      // Loaded here, not at the top: the ledger pulls in BLAKE3 and Ed25519, which --help and --version never need.
      const {recordAudit} = await import('../../src/audit/record-audit.js');
      await recordAudit(config, {actor: this.auditActor(), action, payload}, {noAudit, warn: (message) => this.logger.warn(message)});
    } catch (error) {
      const problem = toDaemonEyeError(error as Error);
      this.logger.reportError(problem);
      this.setExitCode(problem.exitCode === ExitCode.Success ? ExitCode.RuntimeFailure : problem.exitCode);
    }
  }

  /** The exit code this run will end with so far (recorded in audit payloads: `health` reads it). */
  private get currentExitCode(): number {
    return Number(process.exitCode ?? 0);
  }

  /** `daemoneye <command id> (user NAME, uid N)`: who acted, as the ledger records it. */
  private auditActor(): string {
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    let user: string;
    try {
      user = userInfo().username;
    } catch {
      user = '?';
    }
    return `daemoneye ${(this.id ?? 'unknown').replaceAll(':', ' ')} (user ${user}${uid === undefined ? '' : `, uid ${uid}`})`;
  }

  /**
   * Write data to stdout (data only; diagnostics go through the logger), a chunk of whole pieces at a time,
   * waiting while the reader is slow and giving the event loop a turn between pieces (src/output/write-pieces.ts).
   * On a terminal, every format is made terminal-safe (terminalOutput, chunk by chunk: a chunk holds whole
   * lines or JSON tokens): what a renderer left of process-controlled text cannot drive it. `painted`: the
   * renderer coloured the text with the palette, whose colours alone are kept (never in CSV or JSON, whose
   * every escape sequence came from the data).
   */
  private async write(text: Iterable<string> | string, painted = false): Promise<void> {
    const write = stdoutWriter();
    const colour = painted && colourEnabled(process.stdout);
    try {
      await writePieces(text, process.stdout.isTTY === true ? (chunk) => write(terminalOutput(chunk, colour)) : write);
    } catch (error) {
      // The reader went away (`daemoneye scan | head`): the output just stops, as on EPIPE (main.ts).
      if (!(error instanceof OutputClosed)) throw error;
    }
  }

  /**
   * A line of an outcome's report on stderr: a bare report line (a problem of a checked file, a test result, a
   * verification step) without the log prefix, or a log line at its level; secrets scrubbed and control
   * characters made visible either way.
   */
  private reportLine(line: ReportLine): void {
    if (typeof line === 'string') this.logger.report(line);
    else if ('error' in line) this.logger.error(line.error);
    else if ('warn' in line) this.logger.warn(line.warn);
    else if ('info' in line) this.logger.info(line.info);
    else this.logger.debug(line.debug);
  }

  /** Set the exit code, keeping the stronger one (2 > 1 > 3 > 0: docs/architecture.md, "Exit codes"). */
  private setExitCode(code: ExitCode): void {
    process.exitCode = strongerExitCode(Number(process.exitCode ?? 0) as ExitCode, code);
  }

  /** The metrics file asked for: `--metrics-file`, else telemetry.metrics_file once the configuration is loaded. */
  private metricsPath(): string | undefined {
    return this.base['metrics-file'] ?? this.loadedConfig?.values.telemetry.metrics_file ?? undefined;
  }

  /** Runs after success and failure alike: write the metrics file when one is asked for. */
  protected override async finally(error: Error | undefined): Promise<void> {
    await super.finally(error);
    const path = this.metricsPath();
    // Refused already: before the work, or as an invalid configuration value (`--metrics-file /proc/x`).
    if (path === undefined || this.metricsRefused || (this.loadedConfig === undefined && writtenPathProblem(path) !== undefined)) return;
    const exitError = error as (Error & {oclif?: {exit?: number}}) | undefined;
    const exitCode = exitError?.constructor.name === 'ExitError' ? (exitError.oclif?.exit ?? 0) : Number(process.exitCode ?? 0);
    try {
      const {writeMetricsFile} = await import('../../src/telemetry/metrics-file.js');
      writeMetricsFile(path, this.metrics, {command: (this.id ?? 'daemoneye').replace(/:/g, ' '), exitCode, startedAtMs: this.startedAtMs}, (message) =>
        this.logger.info(message),
      );
    } catch (writeError) {
      const problem = toDaemonEyeError(writeError as Error);
      this.logger.reportError(problem);
      this.setExitCode(problem.exitCode === ExitCode.Success ? ExitCode.RuntimeFailure : problem.exitCode);
    }
  }

  /** An exception nothing caught: reported like `catch` does, then the run ends at once (exit 3 for an internal error). */
  private crashed(error: Error): never {
    const verbose = this.base.verbose === true || process.env.DEBUG !== undefined;
    const problem = toDaemonEyeError(error);
    try {
      this.logger.reportError(problem, verbose ? (error.stack ?? String(error)) : undefined);
    } finally {
      runInterruptUndos();
      process.exit(problem.exitCode === ExitCode.Success ? ExitCode.RuntimeFailure : problem.exitCode);
    }
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    // `this.exit()` and oclif's own help/version exits pass through untouched.
    if (error.constructor.name === 'ExitError') throw error;
    const verbose = this.base.verbose === true || process.env.DEBUG !== undefined;
    const problem = toDaemonEyeError(error);
    this.logger.reportError(problem, verbose ? (error.stack ?? String(error)) : undefined);
    process.exitCode = problem.exitCode;
  }
}

function toDaemonEyeError(error: Error & {oclif?: {exit?: number}}): DaemonEyeError {
  if (isDaemonEyeError(error)) return error;
  // oclif's parse errors (unknown flag, missing argument, bad option) are usage errors: exit 2.
  if (error.oclif !== undefined || /Parse|Flag|Arg|Validation/.test(error.constructor.name)) {
    const text = error.message.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('See more help'));
    return new DaemonEyeError('USAGE', text.join(' ').replace(/\s+/g, ' ').trim(), {hint: 'see --help'});
  }
  return new DaemonEyeError('INTERNAL', `internal error: ${error.message}`, {hint: 'run with --verbose and report it', cause: error});
}
