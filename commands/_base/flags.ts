// Flag definitions shared by several commands, so each reads the same everywhere.
import {Flags} from '@oclif/core';

export const formatFlag = <const T extends readonly string[]>(options: T, summary = 'Output format (default: table on a terminal, ndjson when piped).') =>
  Flags.option({options, summary})();

export const inputFlag = Flags.string({
  summary: 'Read a snapshot file or a store directory instead of taking a live snapshot.',
});

export const sinceFlag = Flags.string({summary: 'Only scans from this time on: ISO 8601, epoch ms, or a duration ago (90m, 24h, 7d).'});
export const untilFlag = Flags.string({summary: 'Only scans up to this time: ISO 8601, epoch ms, or a duration ago.'});
