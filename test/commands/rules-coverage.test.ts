// `daemoneye rules coverage` as a user runs it: the map of the enabled rules onto ATT&CK's Linux techniques,
// a Navigator layer a SOC can load, the user's own rules counted, disabled rules not, and bad input refused.
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {isolatedEnv, removeDir, runCli, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));
const env = isolatedEnv(dir);

interface Row {
  technique_id: string;
  status: string;
  rules: string[];
  gap: string | null;
  note: string;
}

const scanner = `id: port-scanner-seen
name: Port scanner running
severity: medium
tags: [attack.discovery, attack.t1046]
sql_query: SELECT pid FROM processes WHERE exe_name IN ('nmap', 'masscan')
tests:
  - name: nmap
    processes: [{pid: 5, name: nmap, executable_path: /usr/bin/nmap}]
    expect: [5]
`;

describe('rules coverage', () => {
  it('prints one row per Linux technique with the rules covering it or why not (ndjson when piped)', async () => {
    const result = await runCli(['rules', 'coverage'], {env});
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Row);
    expect(rows).toHaveLength(354);
    expect(rows.find((row) => row.technique_id === 'T1496')).toMatchObject({status: 'covered', rules: ['crypto-miner', 'miner-pool-connection']});
    expect(rows.find((row) => row.technique_id === 'T1046')).toMatchObject({status: 'visible', gap: expect.stringContaining('scanners')});
    expect(rows.find((row) => row.technique_id === 'T1568')).toMatchObject({status: 'not_visible', note: expect.stringContaining('DNS')});
    expect(result.stderr).toMatch(/covered \/ \d+ visible to a snapshot \/ 354 Linux techniques/);
  });

  it('writes an ATT&CK Navigator layer (format 4.5, Linux) that counts a user rule and drops a disabled one', async () => {
    const rules = join(dir, 'rules');
    mkdirSync(rules, {recursive: true});
    writeFileSync(join(rules, 'port-scanner-seen.yaml'), scanner);
    const result = await runCli(['rules', 'coverage', '--rules', rules, '--format', 'navigator'], {env});
    expect(result.code, result.stderr).toBe(0);
    const layer = JSON.parse(result.stdout) as {
      versions: Record<string, string>;
      domain: string;
      filters: {platforms: string[]};
      techniques: {techniqueID: string; score?: number; comment?: string; enabled?: boolean}[];
    };
    expect(layer.versions).toMatchObject({layer: '4.5', attack: '18'});
    expect(layer.domain).toBe('enterprise-attack');
    expect(layer.filters.platforms).toEqual(['Linux']);
    expect(layer.techniques.find((t) => t.techniqueID === 'T1046')).toMatchObject({score: 50, comment: 'Rules: port-scanner-seen'});

    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'detection:\n  disabled_rules: [port-scanner-seen, crypto-miner, miner-pool-connection]\n');
    const disabled = await runCli(['rules', 'coverage', '--rules', rules, '--config', config, '--format', 'json'], {env});
    expect(disabled.code, disabled.stderr).toBe(0);
    const report = JSON.parse(disabled.stdout) as {counts: {total: number; covered: number; visible: number}; techniques: Row[]};
    expect(report.techniques.find((row) => row.technique_id === 'T1046')?.status).toBe('visible');
    expect(report.techniques.find((row) => row.technique_id === 'T1496')?.rules).toEqual([]);
    expect(report.counts.total).toBe(354);
  });

  it('refuses an unknown format and an invalid rule file with exit 2 and one line', async () => {
    const bad = await runCli(['rules', 'coverage', '--format', 'yaml'], {env});
    expect(bad.code).toBe(2);
    const broken = join(dir, 'broken');
    mkdirSync(broken, {recursive: true});
    writeFileSync(join(broken, 'x.yaml'), 'id: x\nname: [\n');
    const invalid = await runCli(['rules', 'coverage', '--rules', broken], {env});
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('x.yaml');
  });
});
