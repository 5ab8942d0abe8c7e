// The rule functions that undo hiding (src/detection/shell-text.ts: visible_text, invisible_characters,
// shell_unquote, shell_normalize), timed on the attacker's inputs that cost them most, at 100 KB and 1 MB: the time at 1 MB
// against the time at 100 KB (linear work is about 10×, a square 100×), and against one plain scan of the same
// text (a loop over its code units) timed in the same process. test/detection/shell-text.test.ts checks the
// outputs on the same inputs, without timing them.
import {invisibleCharacters, shellNormalize, shellUnquote, visibleText} from '../src/detection/shell-text.js';

const INPUTS: readonly {label: string; make: (bytes: number) => string; run: (text: string) => unknown}[] = [
  {label: "shell_unquote: '' pairs", make: (n) => "''".repeat(n / 2), run: shellUnquote},
  {label: 'shell_unquote: backslash escapes', make: (n) => '\\a'.repeat(n / 2), run: shellUnquote},
  {label: "shell_unquote: $'\\x41' escapes", make: (n) => "$'" + '\\x41'.repeat(n / 4) + "'", run: shellUnquote},
  {label: 'shell_unquote: nested "$( substitutions', make: (n) => '"$(x'.repeat(n / 8) + ')"'.repeat(n / 8), run: shellUnquote},
  {label: "shell_unquote: quoted phrases ' 'a b'", make: (n) => " 'a b'".repeat(n / 6), run: shellUnquote},
  {label: 'shell_unquote: a JSON argv of quotes', make: (n) => JSON.stringify(Array.from({length: n / 100}, () => '""'.repeat(40))), run: shellUnquote},
  {label: 'shell_normalize: ${IFS} blanks', make: (n) => '${IFS}'.repeat(n / 6), run: shellNormalize},
  {label: 'shell_normalize: {{{{ nesting', make: (n) => '{'.repeat(n / 2) + '}'.repeat(n / 2), run: shellNormalize},
  {label: 'shell_normalize: {a, lists closed at the end', make: (n) => '{a,'.repeat(n / 4) + '}'.repeat(n / 4), run: shellNormalize},
  {label: 'shell_normalize: ${IFS% never closed', make: (n) => '${IFS%'.repeat(n / 6), run: shellNormalize},
  {label: 'shell_normalize: glued variables c${x}', make: (n) => 'c${x}'.repeat(n / 5), run: shellNormalize},
  {
    label: 'shell_normalize: a JSON argv of $@ and `` splits',
    make: (n) => JSON.stringify(Array.from({length: n / 100}, () => 'c$@u``'.repeat(16))),
    run: shellNormalize,
  },
  {label: 'visible_text: \\x1b[0m sequences', make: (n) => '\\x1b[0m'.repeat(n / 7), run: visibleText},
  {label: 'visible_text: open \\x1b] strings', make: (n) => '\\x1b]'.repeat(n / 5), run: visibleText},
  {label: 'visible_text: zero-width spaces', make: (n) => '\u200b'.repeat(n / 3), run: visibleText},
  {label: 'invisible_characters: \\x1b[ introducers', make: (n) => '\\x1b['.repeat(n / 5), run: invisibleCharacters},
];

function fastestMs(run: () => unknown, times = 5): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** One linear pass over the text's code units: the yardstick. */
function scan(text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i)) | 0;
  return sum;
}

export function run(): void {
  process.stdout.write('\n## Rule functions on hostile text (fastest of 5; ratio 1 MB / 100 KB; 1 MB against one scan)\n');
  for (const input of INPUTS) {
    const small = input.make(100 * 1024);
    const big = input.make(1024 * 1024);
    const smallMs = fastestMs(() => input.run(small));
    const bigMs = fastestMs(() => input.run(big));
    const scanMs = fastestMs(() => scan(big));
    process.stdout.write(
      `${input.label}: 100 KB ${smallMs.toFixed(2)} ms, 1 MB ${bigMs.toFixed(2)} ms (${(bigMs / Math.max(smallMs, 0.01)).toFixed(1)}×), ${(bigMs / Math.max(scanMs, 0.01)).toFixed(0)} scans\n`,
    );
  }
}
