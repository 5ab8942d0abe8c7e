// RFC 9162-shaped Merkle tree with BLAKE3: leaf = H(0x00 || data), node = H(0x01 || left || right),
// empty tree = H(""). The ledger keeps the frontier (the roots of the perfect subtrees that make up the
// tree, left to right) so adding a leaf and computing the root cost O(log n), never a re-read.
import {blake3Bytes, fromHex, toHex} from './hash.js';

const LEAF_PREFIX = new Uint8Array([0]);
const NODE_PREFIX = new Uint8Array([1]);

export function leafHash(data: Uint8Array): Uint8Array {
  return blake3Bytes(LEAF_PREFIX, data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return blake3Bytes(NODE_PREFIX, left, right);
}

export const EMPTY_ROOT_HEX = toHex(blake3Bytes(new Uint8Array(0)));

/** The frontier of a tree of `size` leaves after appending `leaf`: O(log n) hashes. */
export function frontierAppend(frontier: readonly Uint8Array[], size: number, leaf: Uint8Array): Uint8Array[] {
  const next = [...frontier];
  let hash = leaf;
  // Each trailing 1 bit of the old size is a perfect subtree of the same height that now merges.
  for (let bits = size; bits % 2 === 1; bits = Math.floor(bits / 2)) {
    const left = next.pop();
    if (left === undefined) throw new Error('merkle frontier is shorter than its tree size says');
    hash = nodeHash(left, hash);
  }
  next.push(hash);
  return next;
}

/** RFC 9162 MTH from a frontier: fold the subtree roots from the right. */
export function frontierRoot(frontier: readonly Uint8Array[]): Uint8Array {
  if (frontier.length === 0) return fromHex(EMPTY_ROOT_HEX);
  let root = frontier[frontier.length - 1] as Uint8Array;
  for (let index = frontier.length - 2; index >= 0; index--) root = nodeHash(frontier[index] as Uint8Array, root);
  return root;
}

/** How many perfect subtrees a tree of `size` leaves has (its frontier length). */
export function frontierLength(size: number): number {
  let count = 0;
  for (let bits = size; bits > 0; bits = Math.floor(bits / 2)) count += bits % 2;
  return count;
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over `leaves` (already leaf-hashed), RFC 9162 section 2.1.1. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return fromHex(EMPTY_ROOT_HEX);
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  const k = largestPowerOfTwoBelow(leaves.length);
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

/** Inclusion proof (audit path) of leaf `index` in the tree of `leaves`, RFC 9162 section 2.1.3.1. */
export function inclusionProof(index: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is outside a tree of ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  if (index < k) return [...inclusionProof(index, leaves.slice(0, k)), merkleRoot(leaves.slice(k))];
  return [...inclusionProof(index - k, leaves.slice(k)), merkleRoot(leaves.slice(0, k))];
}

/** Root implied by an inclusion proof, RFC 9162 section 2.1.3.2; undefined when the path is malformed. */
export function rootFromInclusionProof(index: number, treeSize: number, leaf: Uint8Array, path: readonly Uint8Array[]): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return undefined;
  let fn = index;
  let sn = treeSize - 1;
  let hash = leaf;
  for (const sibling of path) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      hash = nodeHash(sibling, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      hash = nodeHash(hash, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? hash : undefined;
}
