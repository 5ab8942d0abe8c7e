// Shared fixtures of the detection command tests: a snapshot file built from partial rows and rule dirs.
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {ROOT} from '../helpers/cli.js';

export const FIXTURE_RULES = join(ROOT, 'test', 'fixtures', 'rules');

/** nginx → bash (critical), a binary in /tmp (high), a deleted executable (medium), ordinary processes. */
export async function writeFixtureSnapshot(path: string): Promise<void> {
  const rows = [
    {pid: 1, name: 'systemd', ppid: 0, uid: 0},
    {pid: 5, executable_path: '/tmp/evil'},
    {pid: 10, name: 'nginx'},
    {pid: 11, name: 'bash', ppid: 10},
    {pid: 12, executable_path: '/usr/bin/gone', exe_deleted: true},
    ...Array.from({length: 30}, (_, i) => ({pid: 100 + i, name: `${'a'.repeat(28)}!`})),
  ];
  writeFileSync(path, await snapshotFromRows(rows, {scanId: 4242}));
}

export function writeRule(dir: string, file: string, text: string): string {
  mkdirSync(dir, {recursive: true});
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

export const SLOW_RULE = `id: slow-cartesian
name: Slow cartesian rule
severity: low
sql_query: SELECT count(*) AS pid FROM processes a, processes b, processes c, processes d, processes e, processes f, processes g
`;

/** A rule (YAML, severity high) flagging every process whose executable lives under /tmp, with its own `id`. */
export function tmpExecRule(id: string): string {
  return [
    `id: ${id}`,
    'name: Executable running from /tmp',
    'description: A process whose executable lives under /tmp',
    'version: 1',
    'severity: high',
    'sql_query: |',
    "  SELECT pid, name, executable_path FROM processes WHERE executable_path LIKE '/tmp/%'",
    '',
  ].join('\n');
}

/** Processes running from /tmp (`/tmp/<name>`), pids from `firstPid` on: each one alert of tmpExecRule. */
export function tmpProcesses(names: readonly string[], firstPid = 100): {pid: number; name: string; executable_path: string}[] {
  return names.map((name, index) => ({pid: firstPid + index, name, executable_path: `/tmp/${name}`}));
}
