// Writing output a piece at a time: pieces (rows, lines, JSON tokens: src/output/view.ts renderViewPieces)
// joined into chunks, each chunk written as soon as it is full, waiting when stdout's reader is slow
// (back-pressure) and giving the event loop a turn between pieces once a slice of time is used, so a signal
// ends even the rendering of a whole snapshot at once (src/util/interrupt.ts).
import {TimeSlicer} from '../util/interrupt.js';

/** Characters (UTF-16 units) joined into one write. */
const CHUNK_CHARS = 1 << 16;

/** A sink of chunks; a promise it returns makes the writer wait (back-pressure). */
export type ChunkSink = (chunk: string) => unknown;

/** Batches small writes into large ones: a 100,000-row output would otherwise make 100,000 writes. */
export class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(
    private readonly sink: ChunkSink,
    private readonly chunkChars = CHUNK_CHARS,
  ) {}

  /** Returns a promise only when the sink asks the caller to wait (backpressure). */
  push(text: string): void | Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= this.chunkChars ? this.flush() : undefined;
  }

  flush(): void | Promise<void> {
    if (this.size === 0) return undefined;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    const result = this.sink(chunk);
    return result instanceof Promise ? (result as Promise<void>) : undefined;
  }
}

/** Thrown when the reader of stdout went away (`export | head`): the output just stops. */
export class OutputClosed extends Error {}

/**
 * A writer to `stream` (stdout) that waits when the pipe is full, so a slow reader cannot make the whole output
 * pile up in memory, and throws OutputClosed when the reader has gone.
 */
export function stdoutWriter(stream: NodeJS.WriteStream = process.stdout): (chunk: string) => void | Promise<void> {
  return (chunk) => {
    if (stream.destroyed || stream.writableEnded) throw new OutputClosed();
    if (stream.write(chunk)) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        stream.off('error', done);
        resolve();
      };
      stream.once('drain', done);
      stream.once('close', done);
      stream.once('error', done);
    });
  };
}

/**
 * Write `pieces` (or one string) to `sink` in chunks of about 64 Ki characters, each chunk a join of whole
 * pieces (so a transform of a chunk, such as making it terminal-safe, never sees half a line or half a token),
 * waiting when the sink asks, and yielding to the event loop between pieces once 50 ms have run (an empty piece
 * is a turn with nothing to write: a renderer's pass that prints nothing yet).
 */
export async function writePieces(pieces: Iterable<string> | string, sink: ChunkSink, slicer = new TimeSlicer()): Promise<void> {
  const out = new ChunkedWriter(sink);
  if (typeof pieces === 'string') {
    await out.push(pieces);
  } else {
    for (const piece of pieces) {
      const wait = piece === '' ? undefined : out.push(piece);
      if (wait !== undefined) await wait;
      if (slicer.due()) {
        // What is ready goes out before the turn: a reader sees rows as they are rendered.
        await out.flush();
        await slicer.pause();
      }
    }
  }
  await out.flush();
}
