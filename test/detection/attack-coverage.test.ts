// The coverage map against MITRE's own data: the technique table (src/detection/attack-techniques.ts) must list
// exactly the Linux techniques of the vendored ATT&CK subset (test/fixtures/attack), every visible technique no
// built-in rule covers must say why, and the Navigator layer must follow layer format 4.5.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';
import {z} from 'zod';

import {computeCoverage, navigatorLayer, renderCoverageDoc, techniqueOfTag} from '../../src/detection/attack-coverage.js';
import {ATTACK_VERSION, LINUX_TECHNIQUES} from '../../src/detection/attack-techniques.js';
import {readBuiltinRules} from '../../src/docs/rules-doc.js';
import type {AlertSeverity} from '../../src/models/severity.js';
import {ROOT} from '../helpers/cli.js';

interface StixTechnique {
  readonly name: string;
  readonly external_references: readonly {source_name: string; external_id: string}[];
  readonly kill_chain_phases: readonly {kill_chain_name: string; phase_name: string}[];
  readonly x_mitre_platforms: readonly string[];
}
const FIXTURE = join(ROOT, 'test', 'fixtures', 'attack');
const stix = (JSON.parse(readFileSync(join(FIXTURE, 'enterprise-attack-linux.json'), 'utf8')) as {objects: StixTechnique[]}).objects;
const builtin = readBuiltinRules().map((rule) => ({...rule, severity: rule.severity as AlertSeverity}));

describe('the Linux technique table against MITRE STIX data (ATT&CK v18.1)', () => {
  it('lists exactly the Linux techniques of the vendored subset, with their names and tactics', () => {
    const fromStix = stix.map((object) => ({
      id: object.external_references.find((ref) => ref.source_name === 'mitre-attack')?.external_id,
      name: object.name,
      tactics: object.kill_chain_phases.filter((phase) => phase.kill_chain_name === 'mitre-attack').map((phase) => phase.phase_name),
    }));
    expect(LINUX_TECHNIQUES.map(({id, name, tactics}) => ({id, name, tactics}))).toEqual(fromStix);
    expect(stix.every((object) => object.x_mitre_platforms.includes('Linux'))).toBe(true);
    expect(LINUX_TECHNIQUES).toHaveLength(354);
  });

  it('ships the fixture with its licence and version', () => {
    expect(readFileSync(join(FIXTURE, 'LICENSE.txt'), 'utf8')).toContain('The MITRE Corporation');
    expect(readFileSync(join(FIXTURE, 'README.md'), 'utf8')).toContain(`ATT&CK v${ATTACK_VERSION}`);
  });

  it('gives every technique one line, and a gap only where a snapshot can see it', () => {
    for (const technique of LINUX_TECHNIQUES) {
      expect(technique.note.length, technique.id).toBeGreaterThan(10);
      if (!technique.visible) expect(technique.gap, technique.id).toBeNull();
    }
  });
});

describe('coverage of the built-in pack', () => {
  const report = computeCoverage(builtin);

  it('tags only Linux techniques of this ATT&CK release', () => {
    expect(report.unknown_tags).toEqual([]);
  });

  it('covers only techniques a snapshot can show, and says why for each visible one it does not cover', () => {
    for (const row of report.techniques) {
      const technique = LINUX_TECHNIQUES.find((t) => t.id === row.technique_id);
      if (row.status === 'covered') expect([row.technique_id, technique?.visible]).toEqual([row.technique_id, true]);
      if (row.status === 'visible') expect([row.technique_id, (row.gap ?? '').length > 10]).toEqual([row.technique_id, true]);
    }
    expect(report.counts.covered).toBe(report.techniques.filter((row) => row.status === 'covered').length);
    expect(report.counts.covered).toBeGreaterThanOrEqual(30);
  });

  it('counts a rule for exactly the techniques it is tagged with, and not when disabled', () => {
    const one = computeCoverage([
      {id: 'a', severity: 'medium', tags: ['attack.discovery', 'attack.t1046'], enabled: true},
      {id: 'b', severity: 'critical', tags: ['attack.T1046', 'attack.t1059.004'], enabled: true},
      {id: 'c', severity: 'high', tags: ['attack.t1018', 'attack.t9999'], enabled: false},
    ]);
    const row = (id: string) => one.techniques.find((t) => t.technique_id === id);
    expect(row('T1046')).toMatchObject({status: 'covered', rules: ['b', 'a'], severity: 'critical'});
    expect(row('T1059')?.status).toBe('visible');
    expect(row('T1018')?.status).toBe('visible');
    expect(row('T1001')?.status).toBe('not_visible');
    expect(one.unknown_tags).toEqual([]);
    expect(techniqueOfTag('attack.t1059.004')).toBe('T1059.004');
    expect(techniqueOfTag('attack.execution')).toBeNull();
  });

  it('keeps docs/coverage.md in step with the rules (run `npm run build && npm run docs`)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'coverage.md'), 'utf8')).toBe(renderCoverageDoc(report));
  });
});

// Layer format 4.5 (mitre-attack/attack-navigator, layers/spec/v4.5/layerformat.md): required fields and types.
const metadata = z.union([z.object({name: z.string(), value: z.string()}).strict(), z.object({divider: z.boolean()}).strict()]);
const LayerSchema = z
  .object({
    name: z.string().min(1),
    versions: z.object({attack: z.string(), navigator: z.string().regex(/^\d+\.\d+\.\d+$/), layer: z.literal('4.5')}).strict(),
    domain: z.enum(['enterprise-attack', 'mobile-attack', 'ics-attack']),
    description: z.string(),
    filters: z.object({platforms: z.array(z.string())}).strict(),
    sorting: z.int().min(0).max(3),
    layout: z
      .object({
        layout: z.enum(['side', 'flat', 'mini']),
        showID: z.boolean(),
        showName: z.boolean(),
        showAggregateScores: z.boolean(),
        countUnscored: z.boolean(),
        aggregateFunction: z.enum(['average', 'min', 'max', 'sum']),
        expandedSubtechniques: z.enum(['none', 'all', 'annotated']),
      })
      .strict(),
    hideDisabled: z.boolean(),
    techniques: z.array(
      z
        .object({
          techniqueID: z.string().regex(/^T\d{4}(\.\d{3})?$/),
          tactic: z.string().optional(),
          comment: z.string().optional(),
          enabled: z.boolean().optional(),
          score: z.number().optional(),
          color: z
            .string()
            .regex(/^#[0-9a-f]{6}$/i)
            .optional(),
          metadata: z.array(metadata).optional(),
          links: z.array(z.object({label: z.string(), url: z.url()})).optional(),
          showSubtechniques: z.boolean().optional(),
        })
        .strict(),
    ),
    gradient: z.object({colors: z.array(z.string().regex(/^#[0-9a-f]{6}$/i)).min(2), minValue: z.number(), maxValue: z.number()}).strict(),
    legendItems: z.array(z.object({label: z.string(), color: z.string()}).strict()),
    showTacticRowBackground: z.boolean(),
    tacticRowBackground: z.string(),
    selectTechniquesAcrossTactics: z.boolean(),
    selectSubtechniquesWithParent: z.boolean(),
    selectVisibleTechniques: z.boolean(),
    metadata: z.array(metadata),
  })
  .strict();

describe('the ATT&CK Navigator layer', () => {
  const layer = LayerSchema.parse(navigatorLayer(computeCoverage(builtin)));

  it('follows layer format 4.5 for Navigator 4.9.0 or later and ATT&CK 18, Linux filter', () => {
    const [major, minor] = layer.versions.navigator.split('.').map(Number);
    expect((major ?? 0) > 4 || ((major ?? 0) === 4 && (minor ?? 0) >= 9)).toBe(true);
    expect(layer.versions.attack).toBe(ATTACK_VERSION.split('.')[0]);
    expect(layer).toMatchObject({domain: 'enterprise-attack', filters: {platforms: ['Linux']}});
    expect(layer.gradient.maxValue).toBeGreaterThan(layer.gradient.minValue);
  });

  it('has one entry per Linux technique: covered ones scored within the gradient, invisible ones disabled', () => {
    expect(layer.techniques.map((t) => t.techniqueID)).toEqual(LINUX_TECHNIQUES.map((t) => t.id));
    const t1620 = layer.techniques.find((t) => t.techniqueID === 'T1620');
    expect(t1620?.score).toBeGreaterThanOrEqual(layer.gradient.minValue);
    expect(t1620?.score).toBeLessThanOrEqual(layer.gradient.maxValue);
    expect(t1620?.comment).toContain('fileless-memfd-execution');
    expect(layer.techniques.find((t) => t.techniqueID === 'T1001')).toMatchObject({enabled: false});
  });
});
