// The crypto layer: BLAKE3 hashing, RFC 8785 canonical JSON, the RFC 9162-shaped Merkle tree, Ed25519
// key files, detached file signatures and the SignatureManager (docs/api.md).
export * from './canonical-json.js';
export * from './file-signature.js';
export * from './hash.js';
export * from './key-files.js';
export * from './keys.js';
export * from './merkle.js';
export * from './signature-manager.js';
