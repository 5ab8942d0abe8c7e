// The evidence bundle's manifest (manifest.json) and its detached signature (manifest.sig): the one
// description of a case that `collect` writes and `verify` checks.
import type {Host} from '../models/host.js';

export const EVIDENCE_FORMAT = 'daemoneye-evidence/1';
export const MANIFEST_FILE = 'manifest.json';
/** Base64 of the 64-byte Ed25519 signature of manifest.json's exact bytes (as `sign --armor` writes). */
export const SIGNATURE_FILE = 'manifest.sig';

/** One file of the case: its path relative to the case root, size and digests (lower-case hex). */
export interface ManifestFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly blake3: string;
}

export interface EvidenceManifest {
  readonly format: typeof EVIDENCE_FORMAT;
  /** A new UUID per collection. */
  readonly case_id: string;
  readonly tool: 'daemoneye';
  readonly tool_version: string;
  /** When the manifest was written, epoch ms. */
  readonly created_at: number;
  /** The host collected from (src/models/host.ts); bundles written before host identity have only hostname and boot_id. */
  readonly host: Host;
  /** The command line of the collection. */
  readonly command: string[];
  /** How the pids were chosen: `--pid`, `--alerts FILE`, `--rule ID`. */
  readonly reason: string;
  readonly requested_pids: number[];
  /** Requested pids with no process when the collection started. */
  readonly not_running: number[];
  readonly processes: {
    readonly pid: number;
    /** Field 22 of /proc/PID/stat: with the boot id, the process's identity. */
    readonly start_ticks: number | null;
    /** What /proc/PID/exe read (with ` (deleted)` when the file was unlinked). */
    readonly exe_link: string | null;
    /** False when the process exited or its pid was reused while it was being copied. */
    readonly consistent: boolean;
  }[];
  readonly files: ManifestFile[];
  /** Files not copied and why (unreadable, past a size cap). */
  readonly skipped: {readonly path: string; readonly reason: string}[];
  /**
   * What was redacted: `enabled` false when the responder chose `collect --no-redact` (argv and environments
   * are then as the processes had them). `files` lists each file written through the redaction policy with the
   * number of values it replaced; every file not listed is an exact copy. Absent in bundles of older versions.
   */
  readonly redaction?: {
    readonly enabled: boolean;
    /** Where the policy is described (docs/redaction.md of this tool's version). */
    readonly policy: string;
    readonly files: readonly {readonly path: string; readonly values: number}[];
    readonly note: string;
  };
  /** Key id of the signing key; null when unsigned. */
  readonly key_id: string | null;
}
