// JSON from files a flag names (checkpoints, proofs, alerts, rows, manifests, ledger lines, state files),
// which may come from a hostile host: nesting is bounded before JSON.parse sees the text, so no value can
// overflow the stack of the code that walks it (canonical JSON, redaction, rendering).

/** How deep JSON read from a file may nest: far more than any file DaemonEye writes (at most about 6). */
export const MAX_JSON_DEPTH = 64;

/**
 * The depth of the deepest array or object in `text` (0 for a scalar), scanning once and stopping as soon
 * as it passes `limit`; brackets inside strings do not count. Malformed text is left to JSON.parse.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * JSON.parse with nesting bounded by `maxDepth` (default MAX_JSON_DEPTH). Throws a SyntaxError for
 * malformed or too deeply nested text; the caller names the file.
 */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonDepthExceeds(text, maxDepth)) throw new SyntaxError(`JSON nested deeper than ${maxDepth} levels`);
  return JSON.parse(text) as unknown;
}

/** `: nested deeper than N levels` for the depth refusal of parseJson, '' for any other error (a syntax error). */
export function depthNote(error: unknown): string {
  return error instanceof SyntaxError && error.message.startsWith('JSON nested deeper') ? `: ${error.message.slice(5)}` : '';
}
