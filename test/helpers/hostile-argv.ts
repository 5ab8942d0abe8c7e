// Command lines an attacker writes to make detection rules slow: texts shaped for the built-in rules' and
// SigmaHQ's patterns (runs a backtracking engine tries in quadratic or exponential time), at a chosen size.
// Each argv keeps within the kernel's limits, so a test can start it as a real process: no argument longer
// than MAX_ARG_STRLEN (128 KiB), and a shell that sleeps instead of running the text (`sleep 300; exit; …`
// is parsed whole, then exits before the hostile part).
// Used by the rule-cost test (test/detection/hostile-argv.test.ts), the end-to-end detect test and the bench.

/** One argument at most this long (the kernel's MAX_ARG_STRLEN is 131,072 bytes with the NUL). */
export const MAX_ARGUMENT = 128_000;

export interface HostileArgv {
  readonly name: string;
  /** What it aims at. */
  readonly aim: string;
  /** The program (looked up on PATH) and the process name rules see. */
  readonly program: 'bash' | 'sh' | 'perl';
  /** argv (argv[0] included) holding about `size` characters of hostile text. */
  readonly argv: (size: number) => string[];
}

/** `unit` repeated to about `size` characters, cut into arguments of whole units. */
function repeated(unit: string, size: number): string[] {
  const perArgument = Math.max(1, Math.floor(MAX_ARGUMENT / unit.length));
  const total = Math.max(1, Math.round(size / unit.length));
  const args: string[] = [];
  for (let done = 0; done < total; done += perArgument) args.push(unit.repeat(Math.min(perArgument, total - done)));
  return args;
}

/** A shell that sleeps, then exits before it reaches `script` (parsed, never run), then more text as arguments. */
function shell(program: 'bash' | 'sh', script: string, unit: string, size: number, tail = ''): string[] {
  const [first = '', ...rest] = repeated(unit, size);
  return [program, '-c', `sleep 300; exit; ${script}${first}`, ...rest, ...(tail === '' ? [] : [tail])];
}

export const HOSTILE_ARGVS: readonly HostileArgv[] = [
  {
    name: 'one letter',
    aim: 'every pattern with a run of a class (encoded-payload, Sigma (.){200,})',
    program: 'bash',
    argv: (n) => ['bash', '-c', 'sleep 300; exit', ...repeated('a', n)],
  },
  {
    name: 'curl repeated',
    aim: "download-and-execute: \\b(curl|wget)\\b[^|;&]*\\| tried from every 'curl'",
    program: 'bash',
    argv: (n) => ['bash', '-c', 'sleep 300; exit', ...repeated('curl ', n)],
  },
  {
    name: "bash -c 'base64 -d 1>&2 …'",
    aim: 'encoded-payload: ([0-9]?>&[0-9]|[^;&])* — two ways through each 1>&2',
    program: 'bash',
    argv: (n) => shell('bash', 'base64 -d ', '1>&2 ', n),
  },
  {
    name: 'nc x 1 | sh 1>&2 …',
    aim: 'reverse-shell-command-line: the same alternation after a pipe into a shell',
    program: 'sh',
    argv: (n) => shell('sh', 'nc x 1 | sh ', '1>&2 ', n),
  },
  {
    name: '/dev/tcp/ without a pipe',
    aim: 'reverse-shell-command-line: /dev/(tcp|udp)/[^|]*\\| tried from every /dev/tcp/',
    program: 'bash',
    argv: (n) => shell('bash', 'cat ', '/dev/tcp/x ', n),
  },
  {
    name: 'printf \\x41… without a pipe',
    aim: 'encoded-payload: (\\\\x[0-9a-f]{2}|\\\\[0-7]{3}){4,}[^;&]*\\|',
    program: 'bash',
    // Unquoted, so the script parses (a quote left open would end the shell at once).
    argv: (n) => shell('bash', 'printf ', '\\x41', n),
  },
  {
    name: '-a -a -a … !',
    aim: 'web-server and shell-upgrade rules: ^\\S+(\\s+-[a-z]+)*\\s*$',
    program: 'bash',
    argv: (n) => ['bash', '-c', 'sleep 300; exit', ...repeated('-a ', n), '!'],
  },
  {name: 'socat a a a …', aim: 'reverse-shell-command-line: socat\\s.*(exec|system):', program: 'bash', argv: (n) => shell('bash', 'socat ', 'a ', n)},
  {
    name: 'spaces',
    aim: '\\s runs: \\s+(sudo\\s+)?… and (\\s+-[a-z]+)*\\s*$',
    program: 'bash',
    argv: (n) => ['bash', '-c', 'sleep 300; exit', ...repeated(' ', n), 'x'],
  },
  {
    name: '${IFS} repeated',
    aim: 'shell_normalize in the shell-text rules: a blank for every 6 characters',
    program: 'bash',
    argv: (n) => shell('bash', 'echo ', '${IFS}', n),
  },
  {
    name: '{a, brace lists never closed',
    aim: 'shell_normalize in the shell-text rules: a brace list opened at every 3 characters, a stack as deep as the argument',
    program: 'bash',
    argv: (n) => shell('bash', 'echo ', '{a,', n),
  },
  {
    name: 'c$@${x} glued expansions',
    aim: 'shell_normalize: an empty $@ and a glued variable at every 7 characters, each judged by what follows it',
    program: 'bash',
    argv: (n) => shell('bash', 'echo ', 'c$@${x}', n),
  },
  {
    name: 'awk /inet/tcp/ …',
    aim: 'reverse-shell-command-line: /inet[46]?/(tcp|udp)/[0-9]+/[^/\\s]+/[0-9]+',
    program: 'bash',
    argv: (n) => shell('bash', 'awk ', '/inet/tcp/0/x/', n),
  },
  {
    name: 'perl -e decode_base64(eval( …',
    aim: 'encoded-payload and reverse-shell interpreter patterns: three REGEXPs over one long -e',
    program: 'perl',
    argv: (n) => {
      const [first = '', ...rest] = repeated('decode_base64(eval(', n);
      return ['perl', '-e', `sleep 300; #${first}`, ...rest];
    },
  },
];

/** The argv as the processes table's `cmdline` reads it: the arguments joined by single spaces. */
export function cmdlineOf(argv: readonly string[]): string {
  return argv.join(' ');
}
