// JSON text in pieces: the same bytes as JSON.stringify(value, null, indent), produced a piece at a time so a
// caller can write each piece and give the event loop a turn between them (a whole process tree of 100,000
// processes is hundreds of megabytes of JSON; one JSON.stringify call of it holds the main thread, and a
// signal, for as long as it runs). Walks with its own stack: a deep value (a chain of nested processes) needs
// no call stack.

/** At most this many entries (every array item and object property, nested) are handed whole to JSON.stringify. */
const WHOLE_ENTRIES = 512;
/** …and at most this deep. */
const WHOLE_DEPTH = 4;

type Frame =
  | {readonly kind: 'array'; readonly value: readonly unknown[]; index: number; readonly inner: string; readonly outer: string}
  | {
      readonly kind: 'object';
      readonly value: Readonly<Record<string, unknown>>;
      readonly keys: readonly string[];
      index: number;
      any: boolean;
      readonly inner: string;
      readonly outer: string;
    };

/** The value JSON.stringify serialises for `value` held under `key`: its toJSON(key) when it has one. */
function resolved(value: unknown, key: string): unknown {
  if (value !== null && (typeof value === 'object' || typeof value === 'bigint')) {
    const toJSON = (value as {toJSON?: unknown}).toJSON;
    if (typeof toJSON === 'function') return (toJSON as (key: string) => unknown).call(value, key);
  }
  return value;
}

/** JSON.stringify leaves these out of an object and writes `null` for them in an array. */
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/** A boxed primitive: JSON.stringify writes its primitive value. */
function boxed(value: object): boolean {
  return value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt;
}

/** Whether `value` is small and shallow enough to hand to JSON.stringify in one call (budget: entries left). */
function fitsWhole(value: unknown, depth: number, budget: {left: number}): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (depth === 0) return false;
  if (Array.isArray(value)) {
    budget.left -= value.length;
    if (budget.left < 0) return false;
    for (const item of value as unknown[]) if (!fitsWhole(item, depth - 1, budget)) return false;
    return true;
  }
  const keys = Object.keys(value);
  budget.left -= keys.length;
  if (budget.left < 0) return false;
  for (const key of keys) if (!fitsWhole((value as Record<string, unknown>)[key], depth - 1, budget)) return false;
  return true;
}

/**
 * The JSON text of `value` as JSON.stringify(value, null, indent) writes it (indent: 0 for none, else spaces,
 * at most 10 as JSON.stringify takes), in pieces of about `pieceChars` characters (UTF-16 units) or more. A
 * piece ends between two tokens, never inside a string, so each can be escaped or written on its own. Throws
 * what JSON.stringify throws (a TypeError for a BigInt or a circular value). Nothing for a value JSON.stringify
 * returns undefined for (undefined, a function, a symbol).
 */
export function* jsonPieces(value: unknown, indent = 0, pieceChars = 1 << 16): Generator<string, void, undefined> {
  const gap = ' '.repeat(Math.max(0, Math.min(10, Math.floor(indent))));
  const stack: Frame[] = [];
  const open = new Set<object>();
  let out = '';
  // Writes `item` (already resolved, not omitted) at `at` indentation: whole when small, else opens a frame.
  const start = (item: unknown, at: string): void => {
    if (item === null || typeof item !== 'object' || boxed(item)) {
      out += JSON.stringify(item) as string;
      return;
    }
    if (open.has(item)) throw new TypeError('Converting circular structure to JSON');
    if (typeof (item as {toJSON?: unknown}).toJSON !== 'function' && fitsWhole(item, WHOLE_DEPTH, {left: WHOLE_ENTRIES})) {
      const text = JSON.stringify(item, null, gap);
      out += gap === '' || at === '' ? text : text.replaceAll('\n', `\n${at}`);
      return;
    }
    if (Array.isArray(item)) {
      if (item.length === 0) {
        out += '[]';
        return;
      }
      out += '[';
      open.add(item);
      stack.push({kind: 'array', value: item as unknown[], index: 0, inner: at + gap, outer: at});
      return;
    }
    out += '{';
    open.add(item);
    stack.push({kind: 'object', value: item as Record<string, unknown>, keys: Object.keys(item), index: 0, any: false, inner: at + gap, outer: at});
  };
  const root = resolved(value, '');
  if (omitted(root)) return;
  start(root, '');
  const newline = gap === '' ? '' : '\n';
  while (stack.length > 0) {
    const frame = stack.at(-1) as Frame;
    if (frame.kind === 'array') {
      if (frame.index >= frame.value.length) {
        out += `${newline}${frame.outer}]`;
        stack.pop();
        open.delete(frame.value);
      } else {
        const index = frame.index++;
        out += `${index > 0 ? ',' : ''}${newline}${frame.inner}`;
        const item = resolved(frame.value[index], String(index));
        if (omitted(item)) out += 'null';
        else start(item, frame.inner);
      }
    } else if (frame.index >= frame.keys.length) {
      out += frame.any ? `${newline}${frame.outer}}` : '}';
      stack.pop();
      open.delete(frame.value);
    } else {
      const key = frame.keys[frame.index++] as string;
      const item = resolved(frame.value[key], key);
      if (!omitted(item)) {
        out += `${frame.any ? ',' : ''}${newline}${frame.inner}${JSON.stringify(key)}${gap === '' ? ':' : ': '}`;
        frame.any = true;
        start(item, frame.inner);
      }
    }
    if (out.length >= pieceChars) {
      yield out;
      out = '';
    }
  }
  if (out !== '') yield out;
}
