// Hex forms shared by every module that checks or writes a 32-byte digest (SHA-256 of executables,
// BLAKE3 of ledger records, Merkle roots): declared once.

/** A 32-byte digest as 64 lower-case hex digits. */
export const HEX64 = /^[0-9a-f]{64}$/;

/** The all-zero digest: the `prev_hash` of a ledger's first record. */
export const ZERO_HASH_HEX = '0'.repeat(64);
