// Runs the built CLI on a real terminal: a pseudo-terminal from `script` (util-linux), so stdout and stderr are
// TTYs as at a user's shell, and what reaches the terminal can be checked byte by byte.
import {spawn} from 'node:child_process';

import {BIN, ROOT} from './cli.js';

export interface PtyResult {
  readonly code: number;
  /** Everything written to the terminal (stdout and stderr together), with the terminal's CR LF made LF. */
  readonly output: string;
}

/** One argument quoted for sh: single quotes keep every byte but NUL and the quote itself. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function runCliInPty(args: readonly string[], env: NodeJS.ProcessEnv, options: {cols?: number} = {}): Promise<PtyResult> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  // `stty cols` first: a pseudo-terminal starts 0 columns wide.
  const script = `stty cols ${options.cols ?? 200} rows 50 2>/dev/null; exec ${command}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', script, '/dev/null'], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']});
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    // The terminal turns each LF into CR LF (onlcr): a CR LF written by the program arrives as CR CR LF.
    child.on('close', (code) => resolve({code: code ?? -1, output: output.replaceAll('\r\r\n', '\n').replaceAll('\r\n', '\n')}));
  });
}

// What must never reach a terminal: ESC (but for the palette's own colours), the other C0 controls but LF and
// tab, DEL and C1 controls, the line/paragraph separators, bidi overrides and isolates.
const UNSAFE = /\u001b(?!\[(?:0|1|2|22|31|32|33|36|39|90)m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The control characters in terminal output that the tool did not put there for colour (none when safe). */
export function unsafeCharacters(output: string): string[] {
  return [...output.matchAll(UNSAFE)].map(
    (m) =>
      `U+${(m[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0')} at ${m.index}: ${JSON.stringify(output.slice(Math.max(0, m.index - 20), m.index + 10))}`,
  );
}
