// The ATT&CK coverage map: which Linux techniques (src/detection/attack-techniques.ts) the rules' `attack.tNNNN`
// tags cover, which a snapshot could show but no rule judges (and why), and which a snapshot cannot show. One
// computation feeds `daemoneye rules coverage` (a table, JSON, or an ATT&CK Navigator layer) and docs/coverage.md.
import type {AlertSeverity} from '../models/severity.js';
import {ATTACK_VERSION, type AttackTechnique, LINUX_TECHNIQUES} from './attack-techniques.js';

/** What coverage needs of a rule: its id, severity, tags and whether it runs. */
export interface CoverageRule {
  readonly id: string;
  readonly severity: AlertSeverity;
  readonly tags: readonly string[];
  readonly enabled: boolean;
}

export type CoverageStatus = 'covered' | 'visible' | 'not_visible';

export interface TechniqueCoverage {
  readonly technique_id: string;
  readonly name: string;
  readonly tactics: readonly string[];
  /** covered: an enabled rule tags it; visible: a snapshot can show it but no enabled rule tags it; not_visible. */
  readonly status: CoverageStatus;
  /** Enabled rules tagging the technique, most severe first. */
  readonly rules: readonly string[];
  /** The highest severity among those rules, null when none. */
  readonly severity: AlertSeverity | null;
  /** What a snapshot shows of it, or why it cannot. */
  readonly note: string;
  /** Why no built-in rule judges a visible technique (null when covered or not visible). */
  readonly gap: string | null;
}

export interface CoverageReport {
  readonly attack_version: string;
  readonly platform: 'Linux';
  readonly counts: {readonly total: number; readonly visible: number; readonly covered: number};
  readonly techniques: readonly TechniqueCoverage[];
  /** `attack.tNNNN` tags of enabled rules that name no Linux technique of this ATT&CK release, with the rules. */
  readonly unknown_tags: readonly {readonly tag: string; readonly rules: readonly string[]}[];
}

const SEVERITY_RANK: Record<AlertSeverity, number> = {informational: 0, low: 1, medium: 2, high: 3, critical: 4};
const TECHNIQUE_TAG = /^attack\.(t\d{4}(?:\.\d{3})?)$/;

/** The technique id a tag names (`attack.t1059.004` → `T1059.004`), or null for a tactic or other tag. */
export function techniqueOfTag(tag: string): string | null {
  const match = TECHNIQUE_TAG.exec(tag.toLowerCase());
  return match === null ? null : (match[1] ?? '').toUpperCase();
}

/**
 * The coverage of `techniques` (default: every Linux technique of the judged ATT&CK release) by the enabled
 * `rules`: a technique is covered when an enabled rule carries its exact tag (a sub-technique's tag does not
 * cover its parent, nor the reverse, as in ATT&CK Navigator).
 */
export function computeCoverage(rules: readonly CoverageRule[], techniques: readonly AttackTechnique[] = LINUX_TECHNIQUES): CoverageReport {
  const byTechnique = new Map<string, CoverageRule[]>();
  for (const rule of rules) {
    if (!rule.enabled) continue;
    for (const id of new Set(rule.tags.map(techniqueOfTag).filter((id): id is string => id !== null))) {
      byTechnique.set(id, [...(byTechnique.get(id) ?? []), rule]);
    }
  }
  const known = new Set(techniques.map((technique) => technique.id));
  const rows = techniques.map((technique): TechniqueCoverage => {
    const covering = [...(byTechnique.get(technique.id) ?? [])].sort(
      (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.id.localeCompare(b.id),
    );
    const status: CoverageStatus = covering.length > 0 ? 'covered' : technique.visible ? 'visible' : 'not_visible';
    return {
      technique_id: technique.id,
      name: technique.name,
      tactics: technique.tactics,
      status,
      rules: covering.map((rule) => rule.id),
      severity: covering[0]?.severity ?? null,
      note: technique.note,
      gap: status === 'visible' ? technique.gap : null,
    };
  });
  const unknown = [...byTechnique.entries()]
    .filter(([id]) => !known.has(id))
    .map(([id, covering]) => ({tag: `attack.${id.toLowerCase()}`, rules: covering.map((rule) => rule.id).sort()}))
    .sort((a, b) => a.tag.localeCompare(b.tag));
  return {
    attack_version: ATTACK_VERSION,
    platform: 'Linux',
    counts: {
      total: rows.length,
      visible: techniques.filter((technique) => technique.visible).length,
      covered: rows.filter((row) => row.status === 'covered').length,
    },
    techniques: rows,
    unknown_tags: unknown,
  };
}

/** Navigator's layer format 4.5 (layers/spec/v4.5/layerformat.md in mitre-attack/attack-navigator). */
export const NAVIGATOR_LAYER_VERSION = '4.5';
/** The Navigator release the layer is written for (the format needs at least 4.9.0). */
export const NAVIGATOR_VERSION = '5.2.0';

const SEVERITY_SCORE: Record<AlertSeverity, number> = {informational: 10, low: 25, medium: 50, high: 75, critical: 100};
const GAP_COLOUR = '#fdd0a2';

/**
 * An ATT&CK Navigator layer (format 4.5, domain enterprise-attack, Linux platform) of a coverage report:
 * each covered technique scored by its most severe rule (25 low … 100 critical) with the rules in its comment
 * and metadata; each visible but uncovered technique coloured as a gap with the reason; each technique a
 * snapshot cannot show disabled (greyed out) with the reason. Load it in Navigator with "Open Existing Layer".
 */
export function navigatorLayer(report: CoverageReport, name = 'DaemonEye rule coverage'): Record<string, unknown> {
  const major = report.attack_version.split('.')[0] ?? report.attack_version;
  return {
    name,
    versions: {attack: major, navigator: NAVIGATOR_VERSION, layer: NAVIGATOR_LAYER_VERSION},
    domain: 'enterprise-attack',
    description: `Techniques DaemonEye's enabled rules cover on Linux (ATT&CK v${report.attack_version}): ${report.counts.covered} covered, ${report.counts.visible} visible to a process snapshot, ${report.counts.total} in all. Greyed out: a snapshot cannot show it.`,
    filters: {platforms: ['Linux']},
    sorting: 3,
    layout: {
      layout: 'side',
      showID: true,
      showName: true,
      showAggregateScores: false,
      countUnscored: false,
      aggregateFunction: 'max',
      expandedSubtechniques: 'annotated',
    },
    hideDisabled: false,
    techniques: report.techniques.map((row) => {
      const base = {techniqueID: row.technique_id, showSubtechniques: false};
      if (row.status === 'covered') {
        return {
          ...base,
          score: SEVERITY_SCORE[row.severity ?? 'low'],
          comment: `Rules: ${row.rules.join(', ')}`,
          enabled: true,
          metadata: row.rules.map((rule) => ({name: 'rule', value: rule})),
        };
      }
      if (row.status === 'visible') return {...base, color: GAP_COLOUR, comment: `Visible to a snapshot, no rule: ${row.gap ?? row.note}`, enabled: true};
      return {...base, comment: `Not visible to a process snapshot: ${row.note}`, enabled: false};
    }),
    gradient: {colors: ['#c6dbef', '#08306b'], minValue: 0, maxValue: 100},
    legendItems: [
      {label: 'covered, low', color: '#c6dbef'},
      {label: 'covered, critical', color: '#08306b'},
      {label: 'visible to a snapshot, no rule', color: GAP_COLOUR},
    ],
    showTacticRowBackground: false,
    tacticRowBackground: '#dddddd',
    selectTechniquesAcrossTactics: true,
    selectSubtechniquesWithParent: false,
    selectVisibleTechniques: false,
    metadata: [
      {name: 'generated by', value: 'daemoneye rules coverage --format navigator'},
      {name: 'covered / visible / total', value: `${report.counts.covered} / ${report.counts.visible} / ${report.counts.total}`},
    ],
  };
}

/** docs/coverage.md, from the built-in rules' tags (a test compares the committed page with this rendering). */
export function renderCoverageDoc(report: CoverageReport): string {
  const link = (id: string): string => `[${id}](https://attack.mitre.org/techniques/${id.replace('.', '/')}/)`;
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const tactics = [...new Set(report.techniques.flatMap((row) => row.tactics))];
  const byTactic = tactics.map((tactic) => {
    const rows = report.techniques.filter((row) => row.tactics.includes(tactic));
    const covered = rows.filter((row) => row.status === 'covered').length;
    const visible = rows.filter((row) => row.status !== 'not_visible').length;
    return `| ${tactic} | ${covered} | ${visible} | ${rows.length} |`;
  });
  const lines = report.techniques.map((row) => {
    const status = row.status === 'covered' ? 'covered' : row.status === 'visible' ? 'visible, no rule' : 'not visible';
    const detail = row.status === 'covered' ? row.rules.map((rule) => `[\`${rule}\`](rules.md#${rule})`).join(', ') : cell(row.gap ?? row.note);
    return `| ${link(row.technique_id)} | ${cell(row.name)} | ${status} | ${detail} |`;
  });
  return `# ATT&CK coverage on Linux

<!-- Generated from the rules' attack.* tags and src/detection/attack-techniques.ts by \`npm run docs\`; do not edit by hand. -->

Every technique and sub-technique of MITRE ATT&CK Enterprise v${report.attack_version} whose platforms include Linux, and
what DaemonEye makes of it: **covered** (the built-in rules tagged with it, most severe first), **visible, no rule**
(a process snapshot can show its traces, and the line says why no rule judges it), or **not visible** (one line on
why a snapshot cannot show it: the event sources that can are in [detection-limits.md](detection-limits.md)).
A rule covers exactly the techniques it is tagged with: a sub-technique does not cover its parent.

**${report.counts.covered} covered / ${report.counts.visible} visible to a snapshot / ${report.counts.total} Linux techniques.**

\`daemoneye rules coverage\` prints the same map for the rules a host really runs (built-in, user and
\`--rules\`, enabled ones only); \`--format navigator\` writes it as an ATT&CK Navigator layer (layer format
${NAVIGATOR_LAYER_VERSION}, for Navigator ${NAVIGATOR_VERSION} or later: "Open Existing Layer" → "Upload from local"), where
covered techniques are scored by their most severe rule, visible gaps are coloured, and techniques a snapshot
cannot show are greyed out.

## By tactic

| tactic | covered | visible | total |
|---|---|---|---|
${byTactic.join('\n')}

## Every technique

| technique | name | snapshot | rules, or why not |
|---|---|---|---|
${lines.join('\n')}

ATT&CK® is a registered trademark of The MITRE Corporation; technique ids and names are from MITRE's ATT&CK
data, © 2025 The MITRE Corporation, reproduced with its permission.
`;
}
