// The one base class of every command: shared flags, configuration loading, the stderr logger, and the
// single place where an error becomes a one-line message and an exit code (docs/architecture.md, "Exit codes").
import {userInfo} from 'node:os';

import {Command, Flags, type Interfaces} from '@oclif/core';

import type {AuditAction} from '../../src/audit/index.js';
import {type Config, loadConfig} from '../../src/config/builder.js';
import {secretValues} from '../../src/config/redact.js';
import {DaemonEyeError, ExitCode, isDaemonEyeError, strongerExitCode} from '../../src/errors.js';
import {type Palette, paletteFor, PLAIN} from '../../src/output/colour.js';
import {colourEnabled, type OutputFormat, resolveFormat} from '../../src/output/format.js';
import {terminalOutput} from '../../src/output/terminal.js';
import {renderView, type View} from '../../src/output/view.js';
import {LOG_LEVEL_ORDER, Logger, type LogLevel} from '../../src/output/logger.js';
import {MetricsCollector} from '../../src/telemetry/metrics.js';

export type DaemonEyeFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof DaemonEyeCommand)['baseFlags'] & T['flags']>;
export type DaemonEyeArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

export abstract class DaemonEyeCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    config: Flags.string({
      summary: 'Configuration file, layered over the system and user files.',
      helpGroup: 'GLOBAL',
    }),
    'log-level': Flags.option({
      summary: 'What is logged to stderr (default: app.log_level).',
      options: LOG_LEVEL_ORDER,
      helpGroup: 'GLOBAL',
    })(),
    'log-format': Flags.option({
      summary: 'Log and error format on stderr.',
      options: ['text', 'json'] as const,
      helpGroup: 'GLOBAL',
    })(),
    verbose: Flags.boolean({summary: 'Debug logging and stack traces.', helpGroup: 'GLOBAL', exclusive: ['quiet']}),
    quiet: Flags.boolean({summary: 'Log errors only.', helpGroup: 'GLOBAL'}),
    'no-audit': Flags.boolean({summary: 'Do not record this run in the audit ledger.', helpGroup: 'GLOBAL'}),
    'metrics-file': Flags.string({
      summary: 'Write Prometheus metrics here when the command ends, even on failure (default: telemetry.metrics_file).',
      helpGroup: 'GLOBAL',
    }),
  };

  protected flags!: DaemonEyeFlags<T>;
  protected args!: DaemonEyeArgs<T>;
  /** Every positional argument, for commands that take a variable number (`static strict = false`). */
  protected positional: string[] = [];
  /** Metrics of this run, filled by the command from its library result; written by `--metrics-file`. */
  protected readonly metrics = new MetricsCollector();
  private readonly startedAtMs = Date.now();
  private currentLogger: Logger | undefined;
  private stderrPalette: Palette = PLAIN;
  private loadedConfig: Config | undefined;

  override async init(): Promise<void> {
    await super.init();
    // Before parsing, so even a usage error is coloured on a terminal; no TTY, no chalk loaded.
    this.stderrPalette = await paletteFor(process.stderr);
    const {args, argv, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof DaemonEyeCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as DaemonEyeFlags<T>;
    this.args = args as DaemonEyeArgs<T>;
    this.positional = argv.map(String);
  }

  /** Colours for stdout (severities, health states): PLAIN unless stdout is a terminal without NO_COLOR. */
  protected async stdoutPalette(): Promise<Palette> {
    return paletteFor(process.stdout);
  }

  /** The stderr logger, honouring --verbose, --quiet, --log-level and, once loaded, the configuration. */
  protected get logger(): Logger {
    if (this.currentLogger === undefined) {
      const base = this.flags as {'log-level'?: LogLevel; 'log-format'?: 'text' | 'json'; verbose?: boolean; quiet?: boolean; format?: string} | undefined;
      const configured = this.loadedConfig?.values.app;
      const level: LogLevel = base?.verbose === true ? 'debug' : base?.quiet === true ? 'error' : (base?.['log-level'] ?? configured?.log_level ?? 'info');
      const format = base?.['log-format'] ?? (base?.format === 'json' ? 'json' : (configured?.log_format ?? 'text'));
      this.currentLogger = new Logger({level, format, palette: this.stderrPalette});
      // Every secret value of the configuration is scrubbed from whatever the logger writes, quoted or not.
      if (this.loadedConfig !== undefined) for (const secret of secretValues(this.loadedConfig.values)) this.currentLogger.addSecret(secret);
    }
    return this.currentLogger;
  }

  /** Load the layered configuration; `cliArgs` maps flag values onto dotted configuration keys. */
  protected loadConfig(cliArgs: Readonly<Record<string, unknown>> = {}): Config {
    const flags = this.flags as {config?: string; 'log-level'?: string; 'log-format'?: string};
    const config = loadConfig({
      configFile: flags.config,
      cliArgs: {'app.log_level': flags['log-level'], 'app.log_format': flags['log-format'], ...cliArgs},
    });
    this.loadedConfig = config;
    this.currentLogger = undefined;
    return config;
  }

  /** The output format: the one asked for, else `ttyDefault` (table) on a terminal and NDJSON when piped. */
  protected outputFormat(requested: string | undefined, ttyDefault: OutputFormat = 'table'): OutputFormat {
    return resolveFormat(requested, {isTTY: process.stdout.isTTY === true, pipedDefault: 'ndjson', ttyDefault});
  }

  /**
   * Print a command's result in the requested format (else table on a terminal, NDJSON when piped): the one
   * `--format` dispatch of every command (src/output/view.ts). Returns the format used.
   */
  protected async present<Row>(requested: string | undefined, view: View<Row>, ttyDefault: OutputFormat = 'table'): Promise<OutputFormat> {
    const format = this.outputFormat(requested, ttyDefault);
    const human = format !== 'json' && format !== 'ndjson' && format !== 'csv';
    const palette = human ? await this.stdoutPalette() : PLAIN;
    const width = process.stdout.isTTY === true ? (process.stdout.columns > 0 ? process.stdout.columns : 80) : undefined;
    this.write(renderView(format, view, {width, palette}), palette !== PLAIN);
    return format;
  }

  /** As present, for rows read one by one: NDJSON lines are written as each row arrives, other formats at the end. */
  protected async presentStream<Row>(
    requested: string | undefined,
    rows: AsyncIterable<Row>,
    viewOf: (rows: readonly Row[]) => View<Row>,
  ): Promise<OutputFormat> {
    const format = this.outputFormat(requested);
    const kept: Row[] = [];
    for await (const row of rows) {
      if (format === 'ndjson') this.write(renderView('ndjson', viewOf([row])));
      else kept.push(row);
    }
    return format === 'ndjson' ? format : this.present(format, viewOf(kept));
  }

  /**
   * Record what this run did in the audit ledger (and sign a checkpoint when a key exists), honouring
   * audit.enabled and --no-audit. Call it once, at the end of run(). A ledger or key that fails is
   * reported and makes the exit code 3 (unless a stronger one is set); the command's output stands.
   */
  protected async audit(action: AuditAction, payload: unknown): Promise<void> {
    try {
      const config = this.loadedConfig ?? this.loadConfig();
      const noAudit = (this.flags as {'no-audit'?: boolean})['no-audit'] === true;
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
  protected get currentExitCode(): number {
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
   * Write data to stdout (data only; diagnostics go through the logger). On a terminal, every format is made
   * terminal-safe as a whole (terminalOutput): what a renderer left of process-controlled text cannot drive it.
   * `painted`: the renderer coloured the text with the palette, whose colours alone are kept (never in CSV or
   * JSON, whose every escape sequence came from the data).
   */
  protected write(text: string, painted = false): void {
    if (text === '') return;
    process.stdout.write(process.stdout.isTTY === true ? terminalOutput(text, painted && colourEnabled(process.stdout)) : text);
  }

  /**
   * A report line on stderr (a problem of a checked file, a test result, a verification step): secrets
   * scrubbed and control characters made visible, like every log line, without the log prefix.
   */
  protected reportLine(line: string): void {
    this.logger.report(line);
  }

  /** Set the exit code, keeping the stronger one (2 > 1 > 3 > 0: docs/architecture.md, "Exit codes"). */
  protected setExitCode(code: ExitCode): void {
    process.exitCode = strongerExitCode(Number(process.exitCode ?? 0) as ExitCode, code);
  }

  /** Runs after success and failure alike: write the metrics file when one is asked for. */
  protected override async finally(error: Error | undefined): Promise<void> {
    await super.finally(error);
    const path = (this.flags as {'metrics-file'?: string} | undefined)?.['metrics-file'] ?? this.loadedConfig?.values.telemetry.metrics_file ?? undefined;
    if (path === undefined || path === null) return;
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

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    // `this.exit()` and oclif's own help/version exits pass through untouched.
    if (error.constructor.name === 'ExitError') throw error;
    const verbose = (this.flags as {verbose?: boolean} | undefined)?.verbose === true || process.env.DEBUG !== undefined;
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
