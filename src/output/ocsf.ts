// OCSF, the Open Cybersecurity Schema Framework (Amazon Security Lake, Splunk and others): an alert is a
// Detection Finding (class 2004), a process in a snapshot is Live Evidence Info (class 5040, the successor of the
// deprecated Process Query 5015), a process new since a baseline is Process Activity: Launch (class 1007).
// Only attributes of the OCSF version below are emitted; tests check every attribute, its type and every
// required one against the schema's own class and object files.
import type {Alert} from '../models/alert.js';
import {ATTACK_TACTICS} from '../models/attack.js';
import type {Host} from '../models/host.js';
import type {AlertSeverity} from '../models/severity.js';
import {TOOL_VERSION} from '../version.js';
import {alertProcesses} from './ecs.js';
import {compact, type ProcessFacts, processFacts} from './process-facts.js';

/** The OCSF schema version the events declare and are checked against. */
export const OCSF_VERSION = '1.8.0';

/** `severity_id` and `severity` of each alert severity. */
export const OCSF_SEVERITY: Readonly<Record<AlertSeverity, {id: number; name: string}>> = {
  informational: {id: 1, name: 'Informational'},
  low: {id: 2, name: 'Low'},
  medium: {id: 3, name: 'Medium'},
  high: {id: 4, name: 'High'},
  critical: {id: 5, name: 'Critical'},
};

const UNKNOWN_DEVICE = {type_id: 0, type: 'Unknown', name: 'unknown'};

/** The profiles an event applies: `host` and the class's own, and `container` when a process object names its container. */
function profilesOf(base: readonly string[], processes: readonly ProcessFacts[]): string[] {
  return processes.some((p) => p.containerId !== null) ? [...base, 'container'] : [...base];
}

function metadata(host: Host | null, uid: string | null, profiles: readonly string[]): Record<string, unknown> {
  const labels = host === null ? [] : Object.entries(host.decorations).map(([key, value]) => `${key}:${value}`);
  return compact({
    version: OCSF_VERSION,
    product: {name: 'DaemonEye', vendor_name: 'DaemonEye', version: TOOL_VERSION},
    uid,
    profiles: [...profiles],
    labels: labels.length === 0 ? null : labels,
  });
}

/**
 * The `device` object of a host (type Unknown: a snapshot does not say server or desktop). An unknown host (an
 * alert from input mixing hosts) has no device: a finding leaves it out; the classes that require one get a
 * device named `unknown`.
 */
export function ocsfDevice(host: Host | null): Record<string, unknown> | null {
  if (host === null) return null;
  return compact({
    type_id: 0,
    type: 'Unknown',
    hostname: host.hostname,
    name: host.hostname,
    uid: host.id,
    boot_uid: host.boot_id,
    os: compact({name: host.os ?? 'Linux', type_id: 200, type: 'Linux', kernel_release: host.kernel}),
  });
}

/** The `process` object of a process's facts (its executable as `file`, with the SHA-256 as a fingerprint). */
export function ocsfProcess(p: ProcessFacts): Record<string, unknown> {
  const fileName = p.executable === null ? null : p.executable.slice(p.executable.lastIndexOf('/') + 1);
  return compact({
    pid: p.pid,
    uid: p.entityId,
    name: p.name,
    cmd_line: p.commandLine,
    created_time: p.start,
    working_directory: p.cwd,
    file:
      p.executable === null || fileName === null || fileName === ''
        ? null
        : compact({
            name: fileName,
            path: p.executable,
            type_id: 1,
            type: 'Regular File',
            is_deleted: p.fileDeleted,
            hashes: p.sha256 === null ? null : [{algorithm_id: 3, algorithm: 'SHA-256', value: p.sha256}],
          }),
    user: p.uid === null && p.userName === null ? null : compact({uid: p.uid, name: p.userName}),
    parent_process: p.ppid === null ? null : {pid: p.ppid},
    container: p.containerId === null ? null : {uid: p.containerId},
  });
}

/** `attacks`: one entry per technique (a sub-technique with its parent), each with the rule's tactic when it has exactly one. */
export function ocsfAttacks(techniques: readonly string[], tactics: readonly string[]): Record<string, unknown>[] {
  const known = tactics.filter((t) => ATTACK_TACTICS[t] !== undefined).map((t) => ATTACK_TACTICS[t] as {id: string; name: string});
  const tacticOf = (t: {id: string; name: string}): Record<string, unknown> => ({uid: t.id, name: t.name});
  const shared = known.length === 1 ? tacticOf(known[0] as {id: string; name: string}) : null;
  const entries: Record<string, unknown>[] = techniques.map((id) => {
    const parent = id.split('.')[0] as string;
    return compact({
      technique: {uid: parent},
      sub_technique: id.includes('.') ? {uid: id} : null,
      tactic: shared,
    });
  });
  if (shared === null || techniques.length === 0) entries.push(...known.map((t) => ({tactic: tacticOf(t)})));
  return entries;
}

/**
 * An alert as a Detection Finding (2004): `finding_info` (uid, title, the rule as `analytic`, `attacks`),
 * `evidences` (one per affected process), `severity_id`, the host as `device`.
 */
export function ocsfDetectionFinding(alert: Alert): Record<string, unknown> {
  const severity = OCSF_SEVERITY[alert.severity];
  const attacks = ocsfAttacks(alert.attack_techniques, alert.attack_tactics);
  const processes = alertProcesses(alert);
  return compact({
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: 1,
    activity_name: 'Create',
    type_uid: 200401,
    type_name: 'Detection Finding: Create',
    time: alert.alert_time,
    severity_id: severity.id,
    severity: severity.name,
    status_id: 1,
    status: 'New',
    is_alert: true,
    message: alert.description,
    metadata: metadata(alert.host, alert.id, profilesOf(['host', 'security_control'], processes)),
    finding_info: compact({
      uid: alert.id,
      title: alert.title,
      desc: alert.description,
      created_time: alert.alert_time,
      analytic: {uid: alert.rule_id, name: alert.title, type_id: 1, type: 'Rule'},
      attacks: attacks.length === 0 ? null : attacks,
    }),
    attacks: attacks.length === 0 ? null : attacks,
    device: ocsfDevice(alert.host),
    evidences: processes.map((p) => ({process: ocsfProcess(p)})),
  });
}

/**
 * A process in a snapshot as Live Evidence Info (5040): a process query's result on the host. Null when the row
 * has no pid. `now` stamps a row without `collection_time`.
 */
export function ocsfEvidenceInfo(row: Readonly<Record<string, unknown>>, host: Host | null, now = Date.now()): Record<string, unknown> | null {
  const facts = processFacts(row);
  if (facts === null) return null;
  return {
    class_uid: 5040,
    class_name: 'Live Evidence Info',
    category_uid: 5,
    category_name: 'Discovery',
    activity_id: 1,
    activity_name: 'Query',
    type_uid: 504001,
    type_name: 'Live Evidence Info: Query',
    time: facts.collectedAt ?? now,
    severity_id: 1,
    severity: 'Informational',
    query_result_id: 1,
    query_result: 'Exists',
    metadata: metadata(host, facts.recordId, profilesOf(['host'], [facts])),
    device: ocsfDevice(host) ?? UNKNOWN_DEVICE,
    query_evidence: {query_type_id: 10, query_type: 'Process', process: ocsfProcess(facts)},
  };
}

/**
 * A process new since a baseline as Process Activity: Launch (1007): the process, its parent as the actor.
 * Null when the row has no pid.
 */
export function ocsfProcessLaunch(row: Readonly<Record<string, unknown>>, host: Host | null, now = Date.now()): Record<string, unknown> | null {
  const facts = processFacts(row);
  if (facts === null) return null;
  return {
    class_uid: 1007,
    class_name: 'Process Activity',
    category_uid: 1,
    category_name: 'System Activity',
    activity_id: 1,
    activity_name: 'Launch',
    type_uid: 100701,
    type_name: 'Process Activity: Launch',
    time: facts.start ?? facts.collectedAt ?? now,
    severity_id: 1,
    severity: 'Informational',
    metadata: metadata(host, facts.recordId, profilesOf(['host'], [facts])),
    device: ocsfDevice(host) ?? UNKNOWN_DEVICE,
    actor: facts.ppid === null ? {user: compact({uid: facts.uid, name: facts.userName})} : {process: {pid: facts.ppid}},
    process: ocsfProcess(facts),
  };
}
