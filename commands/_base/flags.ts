// Flag definitions shared by several commands, so each reads the same everywhere.
import {Flags} from '@oclif/core';

import {DaemonEyeError} from '../../src/errors.js';

import type {Config} from '../../src/config/builder.js';
import {READ_REDACTION_OFF, readRedaction, type ReadRedaction} from '../../src/redaction/redact.js';

export const formatFlag = <const T extends readonly string[]>(options: T, summary = 'Output format (default: table on a terminal, ndjson when piped).') =>
  Flags.option({options, summary})();

/** The largest pid Linux can give (PID_MAX_LIMIT on 64-bit kernels, 2^22): the bound of every --pid. */
export const PID_MAX_LIMIT = 4_194_304;

export const inputFlag = Flags.string({
  summary: 'Read a snapshot file or a store directory instead of taking a live snapshot.',
});

export const sinceFlag = Flags.string({summary: 'Only scans from this time on: ISO 8601, epoch ms, or a duration ago (90m, 24h, 7d).'});
export const untilFlag = Flags.string({summary: 'Only scans up to this time: ISO 8601, epoch ms, or a duration ago.'});

export const storeFlag = Flags.string({
  summary: 'Also add the snapshot to a store directory; without DIR, the configured store (storage.path). Retention applies.',
  helpValue: '[DIR]',
});

/** Flags whose empty value means something (a bare `--store`: the configured store; see allowBareFlag). */
const EMPTY_VALUE_ALLOWED: ReadonlySet<unknown> = new Set([storeFlag]);

/**
 * Refuse (USAGE, exit 2) a flag given an empty value (`--output ''`, `--config=`, `--rules ""`): no flag
 * takes '' as a path, name or id, and passing it on would fail later with a message about something else
 * (a write to the working directory, "no rule with id"). `definitions` are the command's and base flags by
 * name, `values` the parsed ones.
 */
export function refuseEmptyValues(definitions: Readonly<Record<string, unknown>>, values: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(values)) {
    if (EMPTY_VALUE_ALLOWED.has(definitions[name])) continue;
    const given = Array.isArray(value) ? value : [value];
    if (given.some((one) => one === '')) {
      throw new DaemonEyeError('USAGE', `--${name} was given an empty value`, {hint: `give a value, or leave --${name} out`});
    }
  }
}

/** The redaction a reading command applies under its configuration (docs/redaction.md); said on stderr when off. */
export function readerRedaction(config: Config, warn: (message: string) => void): ReadRedaction {
  const redaction = readRedaction(config.values.collection.redaction);
  if (redaction === false) warn(READ_REDACTION_OFF);
  return redaction;
}

/**
 * oclif has no flags with an optional value: rewrite a bare `--store` (last, or followed by another flag)
 * as `--store=` so that an empty value means "the configured default". Call from a command's init().
 */
export function allowBareFlag(argv: readonly string[], flag: string): string[] {
  return argv.map((arg, index) => (arg === flag && (index === argv.length - 1 || (argv[index + 1] ?? '').startsWith('-')) ? `${flag}=` : arg));
}
