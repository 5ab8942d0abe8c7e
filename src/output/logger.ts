// Logger: diagnostics to stderr only (stdout carries data). Text or JSON lines, levels, and every
// message made terminal-safe and stripped of secrets (the known ones and what the redaction policy finds,
// src/redaction) before it is written.
import {Scrubber} from '../redaction/redact.js';
import type {DaemonEyeError} from '../errors.js';
import type {Palette} from './colour.js';
import {safeJson, terminalSafe} from './terminal.js';

export const LOG_LEVEL_ORDER = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVEL_ORDER)[number];

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: 'text' | 'json';
  readonly write?: (line: string) => void;
  /** Prefix for text lines. */
  readonly name?: string;
  /** Colours for the level word of text lines (src/output/colour.ts); none when absent. */
  readonly palette?: Palette;
}

export class Logger {
  private readonly write: (line: string) => void;
  private readonly threshold: number;
  private readonly scrubber = new Scrubber();

  constructor(private readonly options: LoggerOptions) {
    this.write = options.write ?? ((line) => process.stderr.write(line));
    this.threshold = LOG_LEVEL_ORDER.indexOf(options.level);
  }

  get level(): LogLevel {
    return this.options.level;
  }

  get format(): 'text' | 'json' {
    return this.options.format;
  }

  /** Values that must never be printed (tokens, header values); replaced by [REDACTED]. */
  addSecret(secret: string): void {
    this.scrubber.add(secret);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVEL_ORDER.indexOf(level) <= this.threshold;
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.log('error', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('warn', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log('info', message, fields);
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    this.log('debug', message, fields);
  }

  /** Text that is about to leave the process, with secrets removed. */
  scrub(text: string): string {
    return this.scrubber.text(text);
  }

  /** A JSON-like value about to leave the process, every string (keys too) scrubbed. */
  scrubValue<T>(value: T): T {
    return this.scrubber.value(value);
  }

  log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    if (this.options.format === 'json') {
      // Scrubbed before serialising: a secret inside a JSON string is escaped there and would not match.
      this.write(`${safeJson({time: new Date().toISOString(), level, ...this.scrubValue({message, ...fields})})}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    this.write(`${this.prefix(level)}${terminalSafe(this.scrub(`${message}${extra === '' ? '' : ` ${extra}`}`))}\n`);
  }

  /** A report line (no prefix, any level): a checked file's problem, a test result; scrubbed and terminal-safe. */
  report(line: string): void {
    this.write(`${terminalSafe(this.scrub(line))}\n`);
  }

  /**
   * A progress line on a terminal's stderr, drawn over the last one (carriage return, erase line) without a
   * newline; `progress('')` clears it. Scrubbed and terminal-safe like every line.
   */
  progress(line: string): void {
    this.write(`\r\u001b[K${terminalSafe(this.scrub(line))}`);
  }

  /** `daemoneye: ` and, but for info, the level word (coloured on a terminal). */
  private prefix(level: LogLevel): string {
    const paint = this.options.palette?.level(level) ?? ((text: string): string => text);
    return `${terminalSafe(this.options.name ?? 'daemoneye')}: ${level === 'info' ? '' : `${paint(`${level}:`)} `}`;
  }

  /** The one-line error report; JSON as `{"error": {...}}` under the JSON log format. */
  reportError(error: DaemonEyeError, stack?: string): void {
    if (this.options.format === 'json') {
      this.write(`${safeJson({error: this.scrubValue(error.toJSON())})}\n`);
    } else {
      this.write(`${this.prefix('error')}${terminalSafe(this.scrub(error.toOneLine()))}\n`);
      if (this.enabled('debug') || stack !== undefined) {
        for (const detail of error.details.slice(1)) this.write(`${terminalSafe(this.scrub(`  ${detail}`))}\n`);
      }
    }
    if (stack !== undefined)
      this.write(
        `${stack
          .split('\n')
          .map((line) => terminalSafe(this.scrub(line)))
          .join('\n')}\n`,
      );
  }
}

/** A logger that drops everything (library default). */
export const silentLogger = new Logger({level: 'error', format: 'text', write: () => undefined});
