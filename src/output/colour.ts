// Colour, for people at a terminal only. chalk is loaded when colour is on for a stream (a TTY, no NO_COLOR,
// not TERM=dumb: colourEnabled), so cron runs and pipes never pay for it. chalk ignores NO_COLOR itself (its
// own colour detection does not read it): the level is always set here. Colour is applied to text already
// made terminal-safe, and widths are measured on the plain text, so escapes never misalign a table.
import type {AlertSeverity} from '../models/severity.js';
import {colourEnabled} from './format.js';
import type {LogLevel} from './logger.js';

export type Paint = (text: string) => string;
export type HealthColourState = 'healthy' | 'degraded' | 'unhealthy';

export interface Palette {
  readonly enabled: boolean;
  severity(severity: AlertSeverity): Paint;
  level(level: LogLevel): Paint;
  health(state: HealthColourState): Paint;
}

const plainPaint: Paint = (text) => text;

/** No colour: every paint returns its text unchanged. */
export const PLAIN: Palette = {enabled: false, severity: () => plainPaint, level: () => plainPaint, health: () => plainPaint};

/** The palette for `stream`: colours (16-colour ANSI) when colourEnabled says so, else PLAIN. */
export async function paletteFor(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv = process.env): Promise<Palette> {
  if (!colourEnabled(stream, env)) return PLAIN;
  const {Chalk} = await import('chalk');
  const chalk = new Chalk({level: 1});
  const severities: Record<AlertSeverity, Paint> = {
    critical: (t) => chalk.bold.red(t),
    high: (t) => chalk.red(t),
    medium: (t) => chalk.yellow(t),
    low: (t) => chalk.cyan(t),
    informational: (t) => chalk.gray(t),
  };
  const levels: Record<LogLevel, Paint> = {error: (t) => chalk.bold.red(t), warn: (t) => chalk.yellow(t), info: plainPaint, debug: (t) => chalk.gray(t)};
  const states: Record<HealthColourState, Paint> = {healthy: (t) => chalk.green(t), degraded: (t) => chalk.yellow(t), unhealthy: (t) => chalk.bold.red(t)};
  return {enabled: true, severity: (s) => severities[s], level: (l) => levels[l], health: (s) => states[s]};
}
