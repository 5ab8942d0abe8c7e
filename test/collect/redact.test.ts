import {describe, expect, it} from 'vitest';

import {collectionRedactor, redactCollectedTable} from '../../src/collect/redact.js';
import {PROCESSES_TABLE, TABLES, tableDefinition} from '../../src/models/tables.js';
import {REDACTED} from '../../src/redaction/policy.js';
import {expectLinearTime} from '../helpers/linear-time.js';

const redactor = collectionRedactor({});

describe('collected tables are redacted by column kind', () => {
  it('processes: argv, and the loader variables of platform_data', () => {
    const record = {
      pid: 1,
      name: 'mysql',
      command_line: ['mysql', '-phunter2', 'https://u:pw@db/x'],
      platform_data: {ld_preload: 'TOKEN=abcdef /lib/x.so', ld_audit: null, cwd: '/root'},
    };
    redactCollectedTable(PROCESSES_TABLE, [record], redactor);
    expect(record.command_line).toEqual(['mysql', `-p${REDACTED}`, `https://u:${REDACTED}@db/x`]);
    expect(record.platform_data).toEqual({ld_preload: `TOKEN=${REDACTED} /lib/x.so`, ld_audit: null, cwd: '/root'});
  });

  it('process_envs: a value by the name in its key column; SUDO_COMMAND as a command line', () => {
    const rows = [
      {scan_id: 1, pid: 2, key: 'DB_PASSWORD', value: 'hunter2'},
      {scan_id: 1, pid: 2, key: 'SUDO_COMMAND', value: '/usr/bin/app --password=hunter2 --port 80'},
      {scan_id: 1, pid: 2, key: 'http_proxy', value: 'http://bob:s3cret@proxy:3128'},
      {scan_id: 1, pid: 2, key: 'HISTFILE', value: '/dev/null'},
    ];
    redactCollectedTable(tableDefinition('process_envs')!, rows, redactor);
    expect(rows.map((r) => r.value)).toEqual([REDACTED, `/usr/bin/app --password=${REDACTED} --port 80`, `http://bob:${REDACTED}@proxy:3128`, '/dev/null']);
  });

  it('flat rows (a table collected as one array of values) by column position', () => {
    const definition = tableDefinition('process_envs')!;
    const names = definition.columns.map((c) => c.name);
    const row = (key: string, value: string): unknown[] => names.map((n) => ({scan_id: 1, pid: 3, key, value})[n as 'key'] ?? null);
    const flat = {values: [...row('API_TOKEN', 'abc'), ...row('PATH', '/bin')], rows: 2};
    redactCollectedTable(definition, flat as never, redactor);
    expect(flat.values[names.indexOf('value')]).toBe(REDACTED);
    expect(flat.values[names.length + names.indexOf('value')]).toBe('/bin');
  });

  it('every declared column exists in its table, and every column a table stores argv or environment values in is declared', () => {
    for (const table of TABLES) {
      for (const column of Object.keys(table.redaction ?? {})) {
        const top = column.split('.')[0] ?? '';
        expect(
          table.columns.some((c) => c.name === top || c.name === column.split('.').pop()),
          `${table.name}.${column}`,
        ).toBe(true);
      }
    }
    expect(PROCESSES_TABLE.redaction?.command_line).toBe('argv');
    expect(tableDefinition('process_envs')?.redaction?.value).toEqual({envNameColumn: 'key'});
  });
});

describe('argv redaction takes time linear in the argv (the attacker writes it)', () => {
  const redact = (argv: readonly string[]): string[] => redactor.argv(argv);
  // Arguments shaped for the flag pattern (many separators, secret words between them, no end) and for the
  // URL-credential scan (letters before ://, a user part without end).
  const hostile: [string, (n: number) => string[]][] = [
    ['--a-a-a-…', (n) => ['app', `--${'a-'.repeat(n / 2)}x`]],
    ['--pass-pass-…', (n) => ['app', `--${'pass-'.repeat(n / 5)}!`]],
    ['--password_password_…=', (n) => ['app', `--${'password_'.repeat(n / 9)}=`.slice(0, n)]],
    ['aaaa…://', (n) => ['app', `${'a'.repeat(n)}://`]],
    ['x://bbbb…:', (n) => ['app', `x://${'b'.repeat(n)}:`]],
    ['many arguments', (n) => ['app', ...Array.from({length: n / 10}, (_, i) => (i % 2 === 0 ? '--token' : 'a://b:c@d'))]],
  ];
  it.each(hostile)('%s', (_name, argv) => {
    expectLinearTime((n) => {
      const args = argv(n);
      return () => redact(args);
    }, 100_000);
  });
});
