// Hostile files of every kind but snapshots (those are in test/storage/helpers/hostile.ts): YAML alias
// bombs, deeply nested JSON, gzip bombs, FIFOs and device links, shared by the tests of every reader.
import {execFileSync} from 'node:child_process';
import {symlinkSync, writeFileSync} from 'node:fs';
import {gzipSync} from 'node:zlib';

/** A "billion laughs": each level aliases the one above nine times (9^9 strings if expanded). */
export const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((level, i) => `${level}: &${level} [${Array.from({length: 9}, () => `*${'abcdefghi'[i]}`).join(',')}]`),
  '',
].join('\n');

/** JSON nested `depth` arrays deep (a stack overflow for any recursive walker, 100,000 by default). */
export function deepJson(depth = 100_000): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** A FIFO at `path` (opening it for reading blocks until a writer comes). */
export function makeFifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** A symbolic link at `path` to /dev/zero (endless zeros). */
export function linkToDevZero(path: string): string {
  symlinkSync('/dev/zero', path);
  return path;
}

/** A tar header (ustar) for one regular file of `size` bytes. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/**
 * A gzip bomb shaped like a bundle: one tar entry declaring `declaredBytes` (3 GiB by default) followed by
 * `zeroMembers` gzip members of 8 MiB of zeros each (a few KB on disk apiece).
 */
export function writeGzipBomb(path: string, options: {declaredBytes?: number; zeroMembers?: number} = {}): void {
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  const first = gzipSync(Buffer.concat([tarHeader('case/big', options.declaredBytes ?? 3 * 1024 ** 3), chunk]), {level: 9});
  const member = gzipSync(chunk, {level: 9});
  writeFileSync(path, Buffer.concat([first, ...Array.from({length: options.zeroMembers ?? 20}, () => member)]));
}

/** A tar.gz of `count` empty files (an entry-count bomb). */
export function writeManyEntries(path: string, count: number): void {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) parts.push(tarHeader(`case/f${i}`, 0));
  parts.push(Buffer.alloc(1024));
  writeFileSync(path, gzipSync(Buffer.concat(parts)));
}
