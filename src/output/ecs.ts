// ECS, the Elastic Common Schema (also read by OpenSearch Security Analytics and many shippers): a process in a
// snapshot is a state event (`event.kind: state`, `event.category: [process]`, `event.type: [info]`), an alert
// an alert event (`event.kind: alert`) with `rule.*` and `threat.*` (MITRE ATT&CK). Only fields of the ECS
// version below are emitted (tests check every key against ECS's generated field list); what ECS has no
// field for stays in DaemonEye's own NDJSON. Field reference: ECS's field list (generated/csv/fields.csv).
import type {Alert} from '../models/alert.js';
import {ATTACK_TACTICS} from '../models/attack.js';
import type {Host} from '../models/host.js';
import type {AlertSeverity} from '../models/severity.js';
import {TOOL_VERSION} from '../version.js';
import {compact, isoTime, type ProcessFacts, processFacts} from './process-facts.js';

/** The ECS version the documents are checked against. */
export const ECS_VERSION = '9.4.0';

/** `event.severity` and `event.risk_score` of each severity (Elastic Security's scale: 21, 47, 73, 99). */
export const ECS_SEVERITY: Readonly<Record<AlertSeverity, number>> = {informational: 1, low: 21, medium: 47, high: 73, critical: 99};

/** `host.*` of a host object; its decorations are the document's `labels`. */
export function ecsHost(host: Host): Record<string, unknown> {
  return compact({
    id: host.id,
    name: host.hostname,
    hostname: host.hostname,
    architecture: host.arch,
    boot: compact({id: host.boot_id}),
    os: compact({full: host.os, kernel: host.kernel}),
  });
}

/** `process.*` of a process's facts. */
export function ecsProcess(p: ProcessFacts): Record<string, unknown> {
  return compact({
    pid: p.pid,
    name: p.name,
    executable: p.executable,
    args: p.args,
    args_count: p.args?.length,
    command_line: p.commandLine,
    start: isoTime(p.start),
    entity_id: p.entityId,
    hash: compact({sha256: p.sha256}),
    parent: compact({pid: p.ppid}),
    user: compact({id: p.euid ?? p.uid}),
    real_user: compact({id: p.uid, name: p.userName}),
    group: compact({id: p.gid}),
    working_directory: p.cwd,
    session_leader: compact({pid: p.sessionId}),
    group_leader: compact({pid: p.processGroup}),
    interactive: p.tty === null ? null : true,
  });
}

const ECS_META = Object.freeze({version: ECS_VERSION});
const AGENT = Object.freeze({type: 'daemoneye', name: 'daemoneye', version: TOOL_VERSION});
/** `host.*` and `labels` of each host object, built once per host, not once per rendered process. */
const HOST_PARTS = new WeakMap<Host, {host: Record<string, unknown>; labels: Record<string, string> | null}>();

function hostParts(host: Host): {host: Record<string, unknown>; labels: Record<string, string> | null} {
  let parts = HOST_PARTS.get(host);
  if (parts === undefined) {
    parts = Object.freeze({
      host: Object.freeze(ecsHost(host)),
      labels: Object.keys(host.decorations).length === 0 ? null : Object.freeze({...host.decorations}),
    });
    HOST_PARTS.set(host, parts);
  }
  return parts;
}

/** The members every document starts with: `@timestamp`, `ecs`, `agent`, and the host's `host` and `labels`. */
function base(host: Host | null, timestamp: number): Record<string, unknown> {
  const out: Record<string, unknown> = {'@timestamp': new Date(timestamp).toISOString(), ecs: ECS_META, agent: AGENT};
  if (host === null) return out;
  const parts = hostParts(host);
  out.host = parts.host;
  if (parts.labels !== null) out.labels = parts.labels;
  return out;
}

/**
 * A process in a snapshot as an ECS state event. `row` is a ProcessRecord or a processes/query row (see
 * processFacts); null when it has no pid. `now` stamps a row that has no `collection_time`.
 */
export function ecsProcessEvent(row: Readonly<Record<string, unknown>>, host: Host | null, now = Date.now()): Record<string, unknown> | null {
  const facts = processFacts(row);
  if (facts === null) return null;
  const event = base(host, facts.collectedAt ?? now);
  event.event =
    facts.recordId === null
      ? {kind: 'state', category: ['process'], type: ['info'], module: 'daemoneye', dataset: 'daemoneye.process'}
      : {kind: 'state', category: ['process'], type: ['info'], module: 'daemoneye', dataset: 'daemoneye.process', id: facts.recordId};
  event.process = ecsProcess(facts);
  if (facts.containerId !== null) event.container = {id: facts.containerId};
  return event;
}

/** `threat.*`: the framework, techniques (a sub-technique under its parent) and tactics; null when the rule has none. */
export function ecsThreat(techniques: readonly string[], tactics: readonly string[]): Record<string, unknown> | null {
  if (techniques.length === 0 && tactics.length === 0) return null;
  const parents = [...new Set(techniques.map((t) => t.split('.')[0] as string))];
  const subs = techniques.filter((t) => t.includes('.'));
  const known = tactics.filter((t) => ATTACK_TACTICS[t] !== undefined);
  return compact({
    framework: 'MITRE ATT&CK',
    technique:
      parents.length === 0
        ? null
        : compact({
            id: parents,
            reference: parents.map((t) => `https://attack.mitre.org/techniques/${t}/`),
            subtechnique: subs.length === 0 ? null : {id: subs, reference: subs.map((t) => `https://attack.mitre.org/techniques/${t.replace('.', '/')}/`)},
          }),
    tactic:
      known.length === 0
        ? null
        : {
            id: known.map((t) => ATTACK_TACTICS[t]?.id as string),
            name: known.map((t) => ATTACK_TACTICS[t]?.name as string),
            reference: known.map((t) => `https://attack.mitre.org/tactics/${ATTACK_TACTICS[t]?.id}/`),
          },
  });
}

/** The rows of the rule's result behind an alert (`alert_data.processes`), as process facts. */
export function alertProcesses(alert: Alert): ProcessFacts[] {
  const rows = (alert.alert_data as {processes?: unknown} | null)?.processes;
  const facts = Array.isArray(rows) ? rows.map((row) => (row !== null && typeof row === 'object' ? processFacts(row as Record<string, unknown>) : null)) : [];
  const known = facts.filter((f): f is ProcessFacts => f !== null);
  if (known.length > 0) return known;
  return alert.affected_processes.map((pid) => processFacts({pid}) as ProcessFacts);
}

/**
 * An alert as an ECS alert event: `rule.*`, `threat.*`, `event.severity`/`risk_score`, the first affected
 * process as `process.*` (every affected process's hash in `related.hash`), and the alert's host.
 */
export function ecsAlertEvent(alert: Alert): Record<string, unknown> {
  const processes = alertProcesses(alert);
  const first = processes[0];
  const hashes = [...new Set(processes.map((p) => p.sha256).filter((h): h is string => h !== null))];
  return compact({
    ...base(alert.host, alert.alert_time),
    message: alert.description,
    event: {
      kind: 'alert',
      category: ['process'],
      type: ['info'],
      module: 'daemoneye',
      dataset: 'daemoneye.alert',
      id: alert.id,
      created: new Date(alert.alert_time).toISOString(),
      severity: ECS_SEVERITY[alert.severity],
      risk_score: ECS_SEVERITY[alert.severity],
      reason: alert.description,
    },
    rule: {id: alert.rule_id, name: alert.title, ruleset: 'daemoneye'},
    threat: ecsThreat(alert.attack_techniques, alert.attack_tactics),
    process: first === undefined ? null : ecsProcess(first),
    container: first?.containerId === null || first === undefined ? null : {id: first.containerId},
    related: hashes.length === 0 ? null : {hash: hashes},
  });
}
