// The individual health checks: each returns a status with one reason sentence and the facts behind it.
import {createPrivateKey, createPublicKey, randomBytes} from 'node:crypto';
import {accessSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, statfsSync, statSync, unlinkSync} from 'node:fs';
import {dirname, join} from 'node:path';

import {loadSinkKinds, sinkKind} from '../alerting/sinks/sink-kinds.js';
import type {SinkConfig} from '../config/schema.js';
import {TEMP_PREFIX} from '../util/atomic-write.js';
import type {HealthState} from './health.js';
import type {HealthProbes, RulesReport} from './health-probes.js';
import {FILE_LIMITS, readRegularFile} from '../util/read-file.js';
import {DaemonEyeError} from '../errors.js';

export interface CheckResult {
  readonly status: HealthState;
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>>;
}

// ---- collector ---------------------------------------------------------------------------------

/** Linux capability bits (include/uapi/linux/capability.h). */
export const CAPABILITY_BITS = {CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_SYS_PTRACE: 19} as const;

/** The effective capability set from the `CapEff:` line of /proc/self/status (hex). */
export function parseEffectiveCapabilities(statusText: string): bigint | undefined {
  const match = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  return match === null ? undefined : BigInt(`0x${match[1]}`);
}

export function hasCapability(mask: bigint, bit: number): boolean {
  return (mask >> BigInt(bit)) & 1n ? true : false;
}

/**
 * Collection reads other users' /proc/PID/{exe,cwd,environ,fd} (ptrace access: CAP_SYS_PTRACE) and hashes
 * executables that are not world-readable (CAP_DAC_READ_SEARCH). Root in a container may lack either.
 */
export function checkCollector(procRoot: string): CheckResult {
  if (!existsSync(join(procRoot, 'self'))) {
    return {
      status: 'degraded',
      reason: `no ${procRoot}: processes are listed through systeminformation (no argv arrays, exe paths or uids)`,
      details: {proc: false},
    };
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  let capEff: bigint | undefined;
  try {
    capEff = parseEffectiveCapabilities(readFileSync(join(procRoot, 'self', 'status'), 'utf8'));
  } catch {
    capEff = undefined;
  }
  const missing: string[] = [];
  if (capEff === undefined || !hasCapability(capEff, CAPABILITY_BITS.CAP_SYS_PTRACE)) missing.push('CAP_SYS_PTRACE');
  if (capEff === undefined || !hasCapability(capEff, CAPABILITY_BITS.CAP_DAC_READ_SEARCH)) missing.push('CAP_DAC_READ_SEARCH');
  const hidepid = procMountHidesPids(procRoot);
  const details = {uid, cap_eff: capEff === undefined ? null : capEff.toString(16).padStart(16, '0'), missing_capabilities: missing, hidepid};
  const problems: string[] = [];
  if (missing.includes('CAP_SYS_PTRACE')) problems.push("CAP_SYS_PTRACE missing: other users' exe, cwd, environ and fds are unreadable");
  if (missing.includes('CAP_DAC_READ_SEARCH')) problems.push('CAP_DAC_READ_SEARCH missing: executables that are not world-readable cannot be hashed');
  if (hidepid) problems.push(`${procRoot} is mounted with hidepid: other users' processes are hidden`);
  if (problems.length > 0) return {status: 'degraded', reason: `${problems.join('; ')} (run as root or grant the capabilities: see docs/systemd.md)`, details};
  return {status: 'healthy', reason: uid === 0 ? 'running as root with full /proc access' : 'capabilities give full /proc access', details};
}

function procMountHidesPids(procRoot: string): boolean {
  try {
    const mounts = readFileSync(join(procRoot, 'self', 'mountinfo'), 'utf8');
    return mounts.split('\n').some((line) => / \/proc /.test(line) && /hidepid=(?:[12]|invisible|noaccess)/.test(line));
  } catch {
    return false;
  }
}

// ---- rules -------------------------------------------------------------------------------------

export function checkRules(report: RulesReport): CheckResult {
  const details = {loaded: report.loaded, enabled: report.enabled, invalid: report.invalid, validator: report.validator};
  if (report.invalid.length > 0) {
    const first = report.invalid[0] as {file: string; message: string};
    return {
      status: 'unhealthy',
      reason: `${report.invalid.length} invalid rule file(s), first ${first.file}: ${first.message} (run daemoneye rules validate)`,
      details,
    };
  }
  if (report.enabled === 0) return {status: 'degraded', reason: 'no enabled rules: detect would find nothing', details};
  return {status: 'healthy', reason: `${report.enabled} of ${report.loaded} rules enabled, all valid`, details};
}

// ---- store -------------------------------------------------------------------------------------

function nearestExistingDir(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

/** Writable (a real temp file is created and removed) and within storage.max_size_mb. */
export function checkStore(storeDir: string, maxSizeMb: number | null): CheckResult {
  if (!existsSync(storeDir)) {
    const parent = nearestExistingDir(storeDir);
    try {
      accessSync(parent, constants.W_OK);
    } catch {
      return {
        status: 'unhealthy',
        reason: `${storeDir} does not exist and ${parent} is not writable (create it, or set storage.path)`,
        details: {path: storeDir},
      };
    }
    return {status: 'healthy', reason: `${storeDir} does not exist yet; it will be created on first use`, details: {path: storeDir, exists: false}};
  }
  const probe = join(storeDir, `${TEMP_PREFIX}health-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    unlinkSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return {
      status: 'unhealthy',
      reason: `${storeDir} is not writable (${code}): fix its owner or mode, or set storage.path`,
      details: {path: storeDir, error: code},
    };
  }
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(storeDir, {withFileTypes: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.db')) continue;
    files++;
    bytes += statSync(join(storeDir, entry.name)).size;
  }
  const sizeMb = bytes / (1024 * 1024);
  let freeBytes: number | null = null;
  try {
    const fs = statfsSync(storeDir);
    freeBytes = fs.bavail * fs.bsize;
  } catch {
    freeBytes = null;
  }
  const details = {path: storeDir, files, size_mb: Number(sizeMb.toFixed(3)), max_size_mb: maxSizeMb, free_bytes: freeBytes};
  if (maxSizeMb !== null && sizeMb > maxSizeMb) {
    return {
      status: 'degraded',
      reason: `${storeDir} holds ${sizeMb.toFixed(1)} MB, over storage.max_size_mb ${maxSizeMb} (retention prunes on the next write)`,
      details,
    };
  }
  return {status: 'healthy', reason: `${storeDir} is writable, ${files} snapshot file(s), ${sizeMb.toFixed(1)} MB`, details};
}

// ---- last run and ledger ------------------------------------------------------------------------

export async function checkLastRun(
  auditEnabled: boolean,
  ledgerPath: string,
  scanIntervalMs: number,
  now: number,
  probes: Pick<HealthProbes, 'lastSuccessfulRun'>,
): Promise<CheckResult> {
  const limitMs = 2 * scanIntervalMs;
  if (!auditEnabled) return {status: 'degraded', reason: 'cannot tell: audit.enabled is false, and the last run is read from the audit ledger', details: {}};
  if (!existsSync(ledgerPath))
    return {status: 'unhealthy', reason: `no run recorded: ${ledgerPath} does not exist (has the timer or cron job run?)`, details: {ledger: ledgerPath}};
  const last = await probes.lastSuccessfulRun(ledgerPath);
  if (last === undefined) return {status: 'unhealthy', reason: `no successful scan or detect run in ${ledgerPath}`, details: {ledger: ledgerPath}};
  const ageMs = now - last.time;
  const details = {
    ledger: ledgerPath,
    last_success: last.time,
    last_success_rfc3339: new Date(last.time).toISOString(),
    age_ms: ageMs,
    stale_after_ms: limitMs,
    action: last.action,
  };
  if (ageMs > limitMs) {
    return {
      status: 'unhealthy',
      reason: `last successful run ${new Date(last.time).toISOString()} is ${formatDuration(ageMs)} old, over twice app.scan_interval_ms (${formatDuration(limitMs)})`,
      details,
    };
  }
  return {status: 'healthy', reason: `last successful run ${formatDuration(Math.max(0, ageMs))} ago (${last.action})`, details};
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** Below this much free space a run's ledger append (a record, a checkpoint) may not fit. */
const LEDGER_MIN_FREE_BYTES = 64 * 1024;

/**
 * Can the next run append to the ledger? The ledger file (when it exists) and its directory must be
 * writable by this user — access(2), which also answers EROFS on a read-only filesystem — and the
 * filesystem must have room. Writes nothing. Returns the problem, or null.
 */
function ledgerWriteProblem(ledgerPath: string): string | null {
  const dir = existsSync(ledgerPath) ? dirname(ledgerPath) : nearestExistingDir(dirname(ledgerPath));
  for (const path of existsSync(ledgerPath) ? [ledgerPath, dir] : [dir]) {
    try {
      accessSync(path, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      const why = code === 'EROFS' ? 'is on a read-only filesystem' : `is not writable by this user (${code})`;
      return `${path} ${why}: the next run cannot record itself (remount it read-write, fix its owner or mode, or set app.state_dir)`;
    }
  }
  try {
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    if (free < LEDGER_MIN_FREE_BYTES) return `${dir} has ${free} bytes free: the next run cannot record itself (free space, or set app.state_dir)`;
  } catch {
    // statfs unsupported here: access(2) above has already said what it can.
  }
  return null;
}

export async function checkLedger(auditEnabled: boolean, ledgerPath: string, probes: Pick<HealthProbes, 'verifyLedger'>): Promise<CheckResult> {
  if (!auditEnabled) return {status: 'degraded', reason: 'audit.enabled is false: no audit trail is kept', details: {ledger: ledgerPath}};
  const writeProblem = ledgerWriteProblem(ledgerPath);
  if (writeProblem !== null) return {status: 'unhealthy', reason: writeProblem, details: {ledger: ledgerPath, writable: false}};
  if (!existsSync(ledgerPath))
    return {status: 'healthy', reason: `no ledger yet at ${ledgerPath} (created by the first run)`, details: {ledger: ledgerPath, exists: false}};
  const report = await probes.verifyLedger(ledgerPath);
  const details = {ledger: ledgerPath, ...report};
  if (!report.valid)
    return {status: 'unhealthy', reason: `${ledgerPath} fails verification: ${report.problem ?? 'invalid'} (run daemoneye audit verify)`, details};
  return {
    status: 'healthy',
    reason: `ledger verifies (${report.records} records)`,
    details,
  };
}

/** The signing key: present, readable, a private key, and not readable by group or others. */
export function checkKeys(privateKeyPath: string, publicKeyPath: string): CheckResult {
  const details: Record<string, unknown> = {private_key: privateKeyPath, public_key: publicKeyPath};
  if (!existsSync(privateKeyPath)) {
    return {status: 'degraded', reason: `no signing key at ${privateKeyPath}: checkpoints are unsigned (daemoneye keys generate)`, details};
  }
  const stats = statSync(privateKeyPath);
  details.mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
  if ((stats.mode & 0o077) !== 0) {
    return {status: 'unhealthy', reason: `${privateKeyPath} is readable by group or others (mode ${String(details.mode)}): chmod 600 it`, details};
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  if (stats.uid !== uid && stats.uid !== 0) {
    return {status: 'unhealthy', reason: `${privateKeyPath} is owned by uid ${stats.uid}, neither this user nor root`, details};
  }
  try {
    const key = createPrivateKey(readRegularFile(privateKeyPath, FILE_LIMITS.key));
    if (key.asymmetricKeyType !== 'ed25519')
      return {status: 'unhealthy', reason: `${privateKeyPath} is a ${String(key.asymmetricKeyType)} key, not Ed25519`, details};
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' ? 'not readable by this user' : error instanceof DaemonEyeError ? error.message : 'not a PEM private key';
    return {status: 'unhealthy', reason: `${privateKeyPath} is ${why}`, details};
  }
  if (existsSync(publicKeyPath)) {
    try {
      createPublicKey(readRegularFile(publicKeyPath, FILE_LIMITS.key));
    } catch {
      return {status: 'unhealthy', reason: `${publicKeyPath} is not a readable PEM public key`, details};
    }
  }
  return {status: 'healthy', reason: `signing key ${privateKeyPath} is readable, mode ${String(details.mode)}`, details};
}

// ---- sinks -------------------------------------------------------------------------------------

interface SinkProbe {
  readonly name: string;
  readonly type: SinkConfig['type'];
  readonly reachable: boolean;
  readonly detail: string;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const cause = (error as {cause?: {code?: string; message?: string}}).cause;
  return cause?.code ?? code ?? cause?.message ?? (error as Error).message;
}

/** Probe one sink through its kind (src/alerting/sinks/): an error is unreachable, reported against where it delivers. */
async function probeSink(sink: SinkConfig, timeoutMs: number): Promise<SinkProbe> {
  const kind = sinkKind(sink);
  try {
    return {name: sink.name, type: sink.type, ...(await kind.probe(sink, timeoutMs))};
  } catch (error) {
    return {name: sink.name, type: sink.type, reachable: false, detail: `${kind.where(sink)}: ${errorText(error)}`};
  }
}

export async function checkSinks(sinks: readonly SinkConfig[], timeoutMs: number): Promise<CheckResult> {
  if (sinks.length === 0) return {status: 'healthy', reason: 'no sinks configured (alerts go to stdout only)', details: {sinks: []}};
  await loadSinkKinds(sinks);
  const probes = await Promise.all(sinks.map((sink) => probeSink(sink, timeoutMs)));
  const down = probes.filter((probe) => !probe.reachable);
  const details = {sinks: probes};
  if (down.length === 0) return {status: 'healthy', reason: `${probes.length} sink(s) reachable`, details};
  const list = down.map((probe) => `${probe.name} (${probe.detail})`).join(', ');
  // Alerts for an unreachable sink are spooled, not lost: degraded while another sink still works.
  return {status: down.length === probes.length ? 'unhealthy' : 'degraded', reason: `unreachable: ${list}`, details};
}
