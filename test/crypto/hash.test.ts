import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {blake3Hex} from '../../src/crypto/hash.js';
import {leafHash} from '../../src/crypto/merkle.js';
import {toHex} from '../../src/crypto/hash.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

function b3sum(bytes: Uint8Array, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return execFileSync('b3sum', ['--no-names', file], {encoding: 'utf8'}).trim();
}

describe('BLAKE3 digests equal the b3sum tool on the same bytes', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['one byte', new Uint8Array([0x61])],
    ['one chunk 1024', new Uint8Array(1024).map((_, i) => i % 251)],
    ['chunk plus one 1025', new Uint8Array(1025).map((_, i) => i % 251)],
    ['many chunks 100000', new Uint8Array(100_000).map((_, i) => (i * 7) % 256)],
    ['utf-8 record', new TextEncoder().encode('{"actor":"é ✓ 🔒","seq":0}')],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      expect(blake3Hex(bytes)).toBe(b3sum(bytes, name.replace(/\W/g, '_')));
    });
  }

  it('a Merkle leaf is b3sum of 0x00 followed by the 32 hash bytes', () => {
    const entryHash = new Uint8Array(32).map((_, i) => i);
    expect(toHex(leafHash(entryHash))).toBe(b3sum(new Uint8Array([0, ...entryHash]), 'leaf'));
  });
});
