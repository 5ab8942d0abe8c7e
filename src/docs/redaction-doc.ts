// docs/redaction.md: what is redacted, where, and how to opt out, generated from the policy itself
// (src/redaction/policy.ts), its test vectors and the table registry's column kinds, so the page and the code
// cannot disagree (a test compares the committed page with this rendering).
import {TABLES} from '../models/tables.js';
import {DEFAULT_SHORT_FLAGS, NON_SECRET_SUFFIXES, PAIR_FLAGS, PAIR_SHORT_FLAGS, SECRET_QUERY_KEYS, SECRET_WORDS, TOKEN_RULES} from '../redaction/policy.js';
import type {ColumnRedaction} from '../redaction/redact.js';
import {REDACTION_VECTORS} from '../redaction/vectors.js';

const code = (text: string): string => `\`${text.replaceAll('`', 'ˋ')}\``;
const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', '\\n').replaceAll('\t', '\\t');
const list = (items: readonly string[]): string => items.map(code).join(', ');

function kindText(kind: ColumnRedaction): string {
  if (typeof kind === 'string') return kind === 'argv' ? 'argv' : kind === 'url' ? 'URL' : 'free text';
  return 'env' in kind ? `environment value of ${code(kind.env)}` : `environment value named by ${code(kind.envNameColumn)}`;
}

function vectorInput(input: readonly string[], kind: string): string {
  return kind === 'env' ? `${input[0]}=${input[1]}` : kind === 'argv' ? input.join(' ') : (input[0] ?? '');
}

export function renderRedactionDoc(): string {
  const columns = TABLES.flatMap((table) =>
    Object.entries(table.redaction ?? {}).map(([column, kind]) => `| ${code(`${table.name}.${column}`)} | ${kindText(kind)} |`),
  );
  const tools = (flags: Readonly<Record<string, readonly string[]>>): string =>
    Object.entries(flags)
      .filter(([, f]) => f.length > 0)
      .map(([tool, f]) => `${code(tool)} ${f.map(code).join(' ')}`)
      .join(', ');
  const lines = [
    '# Redaction and terminal safety',
    '',
    '<!-- Generated from src/redaction/policy.ts, src/redaction/vectors.ts and the table registry by `npm run docs`; do not edit by hand. -->',
    '',
    'DaemonEye reads what attackers and careless operators put on a host: command lines with passwords, tokens in',
    'environments and URLs, names full of escape sequences. Nothing it prints, stores, logs or ships repeats a',
    'secret, and nothing it writes to a terminal can drive that terminal. This page is the one description of both.',
    '',
    '## One policy, applied by kind of value',
    '',
    'The policy is data (`src/redaction/policy.ts`): secret words, the flags and tools that carry secrets, the',
    'token shapes of the common secret scanners. `src/redaction/redact.ts` applies it to four kinds of value:',
    '',
    '- **argv**: secret flags and their values (`--password X`, `--token=X`, `-Ddb.password=X`), tool short flags',
    '  (`mysql -pX`), `user:password` flags (`curl --user u:p`), a script inside one argument (`bash -c "…"`) word by',
    '  word, then every argument as free text.',
    '- **environment value**: the whole value when the variable is named for a secret (`DB_PASSWORD`), else as a',
    '  command line (`SUDO_COMMAND=… --password=…`) and free text.',
    '- **URL**: the password of the user info (also one holding `@` or `/`), a token used as the user',
    '  (`https://TOKEN@github.com`), secret query and fragment parameters (`?token=`, `#access_token=`, `?sig=`).',
    '- **free text**: URLs, `--flag value` and `name=value` with a secret name, `Name: value` at the start of a',
    '  line (a header, a YAML line), Authorization headers, token shapes, private key blocks.',
    '',
    'A secret becomes `[REDACTED]` in place: a reader, and a detection rule, still sees that a secret was passed',
    'and how (`--password [REDACTED]`), never the secret.',
    '',
    '## Where',
    '',
    '| what | how |',
    '| --- | --- |',
    '| collected tables (`scan`, live `detect` and `query`, snapshot files, stores) | each column below by its kind, in one place after every collector (`src/collect/redact.ts`), before a row is stored, evaluated or printed |',
    "| evidence bundles (`collect`) | `cmdline.json` as argv, `environ.json` as environment values, the manifest's own `command`; the manifest's `redaction` says what was redacted (below) |",
    '| saved snapshots read back (`query`, `export` in every format, Parquet too, `diff`, `scan --input`, `detect --input`, `ship`) | each column below by its kind again as a file is read (`src/storage/redact-snapshot.ts`): a file saved with `--no-redact`, by hand or by an older policy shows no secret unless the reading command is given `--no-redact` too (it warns `redaction is off`); a rule run over a saved snapshot sees what it would see live |',
    '| alerts (stdout and every sink) | the rows an alert carries, as argv (`cmdline`, `command_line`) or free text: a snapshot saved with `--no-redact` does not ship its secrets to a webhook |',
    '| configuration (`config show`, `config validate`, `health`) | keys named for a secret and every header value are replaced whole; URLs keep all but their credentials; a message quoting a refused value quotes it redacted |',
    '| logs, errors and report lines on stderr (text and JSON), delivery results, `health` reports | every secret value of the configuration (header values, the token after `Bearer `, HMAC keys, URL passwords and query secrets) and whatever the policy finds as free text |',
    '',
    'The columns of the collected tables that go through the policy (declared with the table, `TableDefinition.redaction`):',
    '',
    '| column | kind |',
    '| --- | --- |',
    ...columns,
    '',
    'Other columns (paths, addresses, names, hashes) are facts a rule needs and hold no secret by design; `name`',
    '(`comm`, 15 bytes) is too short for a token of a known shape.',
    '',
    '## What counts as a secret',
    '',
    `- **Secret words** (\`collection.redaction.flags\` replaces the list for collected data): ${list(SECRET_WORDS)}.`,
    '  A name is split into parts at `-`, `_`, `.` and lower→upper case changes; a word matches whole parts in a',
    '  row (`api-key` matches `X-Api-Key`, `apiKey`, `API_KEY`), and a one-part word of five letters or more also',
    '  the end of a part (`PGPASSWORD`, `authtoken`). `--no-password` (a negated flag) is no secret.',
    `- **Not the secret itself**: a name whose last part is one of ${list(NON_SECRET_SUFFIXES)} is about a secret`,
    '  (`--password-file PATH`, `TOKEN_TTL`, `SSH_AUTH_SOCK`, `docker login --password-stdin`): its value stays.',
    `- **\`user:password\` flags**: ${list(PAIR_FLAGS.map((f) => `--${f}`))} and, per tool, ${tools(PAIR_SHORT_FLAGS)}: the part after the first \`:\` is redacted, the user kept.`,
    `- **Tool short flags** (\`collection.redaction.short_flags\`): ${tools(DEFAULT_SHORT_FLAGS)}.`,
    `- **URL query keys** besides secret names: ${list(SECRET_QUERY_KEYS)}.`,
    '- **Token shapes**, redacted wherever they appear:',
    '',
    '| rule | what |',
    '| --- | --- |',
    ...TOKEN_RULES.map((rule) => `| ${code(rule.id)} | ${cell(rule.description)} |`),
    '| `private-key` | a PEM private key block, from its `BEGIN` line to its `END` line (to the end of the text when cut short) |',
    '',
    '## Examples',
    '',
    "The policy's test vectors (`src/redaction/vectors.ts`; `test/redaction/vectors.test.ts` checks every one):",
    '',
    '| kind | value | becomes | shows |',
    '| --- | --- | --- | --- |',
    ...REDACTION_VECTORS.map(
      (v) =>
        `| ${v.kind} | ${code(cell(vectorInput(v.input, v.kind)))} | ${code(cell(v.kind === 'argv' ? v.output.join(' ') : (v.output[0] ?? '')))} | ${cell(v.note)} |`,
    ),
    '',
    '## Opting out',
    '',
    '- **Collected data**: `scan --no-redact`, or `collection.redaction.enabled: false`, keeps argv and environment',
    '  values as read, in the output and in snapshot files (mode 0600); the run warns `redaction is off`. Logs,',
    '  errors, reports and `config show` are redacted regardless.',
    '- **Saved data**: `query`, `export`, `diff`, `scan --input` and `ship` apply the policy to what they read; their',
    '  `--no-redact` (or `collection.redaction.enabled: false`) shows a snapshot as it is stored, with the same',
    '  warning on stderr. Alerts pass their argv columns and free text through the policy whatever the flag says,',
    '  but with `collection.redaction.enabled: false` `detect` reads its snapshot as stored, so a value a rule derives',
    '  from a secret (a `substr` of argv, an environment value, its `hex`) can reach an alert and its sinks; `detect`',
    '  says so once on stderr (`redaction is off …`; never on stdout, so JSON output stays JSON). Keep redaction on',
    '  wherever alerts leave the host: then a rule only ever sees `[REDACTED]`, and nothing it derives holds a secret.',
    '  Alerts do not try to recognise a derived value: a part of a secret, its `hex`, `lower` or `base64` has none of',
    '  the shapes the policy knows, and scrubbing the few derivations one could list would promise what it cannot keep.',
    '- **Evidence**: `collect --no-redact` copies argv and environments as each process had them, for a responder',
    '  who needs the secret itself (a stolen token to revoke). The collection warns, and the signed manifest says so:',
    '',
    '```json',
    '"redaction": {"enabled": false, "policy": "docs/redaction.md", "files": [], "note": "collected with redaction off (--no-redact or collection.redaction.enabled: false): …"}',
    '```',
    '',
    '  Without it, `redaction.files` lists each file written through the policy with the number of values replaced',
    '  (`{"path": "proc-4242/environ.json", "values": 2}`); every other file of the bundle is an exact copy. The',
    '  audit ledger records `redacted: true|false` with the collection.',
    '',
    '## Linear time on hostile text',
    '',
    'Every pattern of the policy runs over text an attacker chose, so each is written for a backtracking engine to',
    'run in time linear in its input: a quantifier without a bound is only followed by what its class cannot match;',
    'where a failed attempt could scan far, the pattern opens with a lookbehind that refuses to start inside a run of',
    'its own characters; no quantified group holds another quantifier. Most values hold none of the words any rule',
    'needs, and one scan lets them through untouched. `test/redaction/linear-time.test.ts` times every kind of',
    "redaction on the policy's own prefixes, repeated, and on long runs of its characters, against a linear",
    'reference scan of the same input.',
    '',
    '## Terminals',
    '',
    'Process names, argv, file names, YAML keys and rule files are attacker-controlled text. One definition',
    '(`TERMINAL_UNSAFE_CLASS`, `src/output/terminal.ts`) says what never reaches a terminal raw, and every format',
    '(`table`, `tree`, `text`, `csv`, `json`, `ndjson`, `ecs`, `ocsf`, `junit`, `export` to stdout) and every message',
    'on stderr uses it:',
    '',
    '- **controls** (`Cc`): ESC (and so every ANSI, OSC and DCS sequence), BEL, CR, backspace, the other C0 and C1',
    '  controls, DEL;',
    '- **format characters** (`Cf`), all of them: bidi marks (U+200E, U+200F, U+061C), embeddings, overrides and',
    '  isolates (U+202A–U+202E, U+2066–U+2069), zero-width space and joiners (U+200B–U+200D), word joiner (U+2060),',
    '  byte order mark (U+FEFF), soft hyphen, invisible operators, interlinear annotations, tag characters',
    '  (U+E0000–U+E007F): they reorder what a reader sees, hide text, or make two different names look the same',
    '  (`ss\\u200bhd` is not `sshd`);',
    '- **lone surrogates** (`Cs`), which a terminal would show as U+FFFD, and the **line and paragraph separators**',
    '  (U+2028, U+2029);',
    '- **every other invisible character** (Unicode `Default_Ignorable_Code_Point`): variation selectors (U+FE00–',
    '  U+FE0F, U+E0100–U+E01EF), Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), the combining grapheme joiner,',
    '  Mongolian variation selectors: each is drawn as nothing.',
    '',
    'Each is printed as `\\xHH` (to U+00FF), `\\uHHHH`, or `\\u{HHHHH}` past U+FFFF (JSON: `\\uHHHH`, a surrogate',
    'pair past U+FFFF, so the JSON value is unchanged). Letters, digits, marks and symbols of every script stay',
    'readable (`José`, `журнал`, `進程`, combining accents); an emoji sequence joined by U+200D or ending in U+FE0F',
    'shows that character escaped, since a process name is read for what it holds. Spaces other than U+0020 (no-break,',
    'ideographic) stay: they look like a space, and an argument may hold a plain space too. Line feeds and tabs stay, as do',
    "CSV's CR LF line ends and, when colour is on, the colours DaemonEye itself uses. A CSV cell holding a CR or LF",
    'shows it as `\\r` / `\\n` on a terminal, where a quoted line break could not be told from the end of a row and a',
    'process could fake rows. Every message on stderr (log lines, errors, warnings, report lines such as `config',
    "validate`'s problems) is escaped the same way, on a terminal or not. Written to a file or a pipe, JSON, NDJSON",
    'and CSV keep every value (escaped as JSON, quoted per RFC 4180 with line breaks inside the quotes), so nothing',
    'is lost for the program reading them.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
