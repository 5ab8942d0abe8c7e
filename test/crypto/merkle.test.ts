import {describe, expect, it} from 'vitest';

import {blake3Bytes, toHex} from '../../src/crypto/hash.js';
import {
  EMPTY_ROOT_HEX,
  frontierAppend,
  frontierLength,
  frontierRoot,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  rootFromInclusionProof,
} from '../../src/crypto/merkle.js';

const leaves = (n: number): Uint8Array[] => Array.from({length: n}, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));

describe('merkle tree (RFC 9162 shape, BLAKE3)', () => {
  it('empty tree root is BLAKE3 of the empty string', () => {
    expect(EMPTY_ROOT_HEX).toBe(toHex(blake3Bytes(new Uint8Array(0))));
    expect(toHex(frontierRoot([]))).toBe(EMPTY_ROOT_HEX);
  });

  it('domain-separates leaves (0x00) and nodes (0x01)', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(2);
    expect(toHex(leafHash(a))).toBe(toHex(blake3Bytes(new Uint8Array([0]), a)));
    expect(toHex(nodeHash(a, b))).toBe(toHex(blake3Bytes(new Uint8Array([1]), a, b)));
    expect(toHex(leafHash(new Uint8Array([...a, ...b])))).not.toBe(toHex(nodeHash(a, b)));
  });

  it('the frontier gives the same root as the recursive definition for every size up to 70', () => {
    const all = leaves(70);
    let frontier: Uint8Array[] = [];
    for (let size = 0; size < all.length; size++) {
      frontier = frontierAppend(frontier, size, all[size] as Uint8Array);
      expect(frontier.length).toBe(frontierLength(size + 1));
      expect(toHex(frontierRoot(frontier))).toBe(toHex(merkleRoot(all.slice(0, size + 1))));
    }
  });

  it('matches the RFC 9162 split by hand for 3 and 5 leaves', () => {
    const [a, b, c, d, e] = leaves(5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    expect(toHex(merkleRoot([a, b, c]))).toBe(toHex(nodeHash(nodeHash(a, b), c)));
    expect(toHex(merkleRoot([a, b, c, d, e]))).toBe(toHex(nodeHash(nodeHash(nodeHash(a, b), nodeHash(c, d)), e)));
  });

  it('inclusion proofs verify for every leaf of trees of 1 to 17 leaves', () => {
    for (let size = 1; size <= 17; size++) {
      const tree = leaves(size);
      const root = toHex(merkleRoot(tree));
      for (let index = 0; index < size; index++) {
        const path = inclusionProof(index, tree);
        const computed = rootFromInclusionProof(index, size, tree[index] as Uint8Array, path);
        expect(computed === undefined ? undefined : toHex(computed), `leaf ${index} of ${size}`).toBe(root);
      }
    }
  });

  it('rejects a proof for the wrong leaf, index or size, and a path of the wrong length', () => {
    const tree = leaves(7);
    const root = toHex(merkleRoot(tree));
    const path = inclusionProof(3, tree);
    const other = rootFromInclusionProof(3, 7, tree[4] as Uint8Array, path);
    expect(other === undefined ? undefined : toHex(other)).not.toBe(root);
    const wrongIndex = rootFromInclusionProof(2, 7, tree[3] as Uint8Array, path);
    expect(wrongIndex === undefined ? undefined : toHex(wrongIndex)).not.toBe(root);
    expect(rootFromInclusionProof(3, 7, tree[3] as Uint8Array, path.slice(1))).toBeUndefined();
    expect(rootFromInclusionProof(3, 7, tree[3] as Uint8Array, [...path, tree[0] as Uint8Array])).toBeUndefined();
    expect(rootFromInclusionProof(7, 7, tree[3] as Uint8Array, path)).toBeUndefined();
  });
});
