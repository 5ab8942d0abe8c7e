// ECS and OCSF outputs checked against the schemas themselves (vendored fields.csv and OCSF class/object files,
// test/fixtures/schemas/README.md): every command and sink that emits them, on a real scan of this host.
/* eslint-disable @typescript-eslint/no-explicit-any -- the documents are checked against the schemas; their members are read as the schemas name them */
import {execFileSync} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {createServer, type IncomingMessage} from 'node:http';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {ecsAlertEvent, ecsProcessEvent, ECS_VERSION} from '../../src/output/ecs.js';
import {ocsfDetectionFinding, ocsfEvidenceInfo, ocsfProcessLaunch, OCSF_VERSION} from '../../src/output/ocsf.js';
import {makeAlert, TEST_HOST} from '../alerting/helpers.js';
import {ecsFields, ecsProblems} from '../helpers/ecs-schema.js';
import {isolatedEnv, parseNdjson, removeDir, runCli, tempDir} from '../helpers/cli.js';
import {ocsfProblems, ocsfVersion} from '../helpers/ocsf-schema.js';

const RULE = `id: test-schema-init
name: The init process
description: pid 1, for schema tests
version: 1
severity: high
category: execution
tags: [attack.t1059.004, attack.execution, attack.defense_evasion, attack.t1036]
author: DaemonEye tests
enabled: true
references: []
false_positives: []
sql_query: |
  SELECT pid, ppid, name, executable_path, executable_hash, cmdline, uid, user_name, entity_id, container_id, scan_id
  FROM processes WHERE pid = 1
tests: []
`;

const expectEcs = (docs: readonly unknown[]): void => {
  expect(docs.length).toBeGreaterThan(0);
  for (const doc of docs) expect(ecsProblems(doc), JSON.stringify(doc)).toEqual([]);
};
const expectOcsf = (docs: readonly unknown[], classUid: number): void => {
  expect(docs.length).toBeGreaterThan(0);
  for (const doc of docs) {
    expect((doc as {class_uid: number}).class_uid).toBe(classUid);
    expect(ocsfProblems(doc), JSON.stringify(doc)).toEqual([]);
  }
};

describe('the vendored schemas', () => {
  it('are the versions the renderers declare, and the checkers catch what does not conform', () => {
    expect(ocsfVersion()).toBe(OCSF_VERSION);
    expect(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'schemas', 'ecs-9.4.0', 'fields.csv'), 'utf8')).toContain(`\n${ECS_VERSION},`);
    expect(ecsFields().get('process.parent.pid')?.type).toBe('long');
    expect(ecsFields().has('process.ppid')).toBe(false);
    // The checkers can fail: an unknown key, a wrong type, a missing required attribute.
    const event = ecsProcessEvent({pid: 7, name: 'x'}, TEST_HOST, 0) as Record<string, unknown>;
    expect(ecsProblems({...event, process: {pid: 7, ppid: 1}})).toEqual(['process.ppid: not an ECS field']);
    expect(ecsProblems({...event, process: {pid: '7'}})[0]).toMatch(/^process\.pid: a long must be an integer/);
    expect(ecsProblems({...event, event: {kind: 'state', category: 'process'}})[0]).toMatch(/^event\.category: ECS normalises it to an array/);
    const finding = ocsfDetectionFinding(makeAlert());
    const {finding_info: _info, ...withoutInfo} = finding;
    expect(ocsfProblems(withoutInfo)).toEqual(['finding_info: required, missing']);
    expect(ocsfProblems({...finding, severity_id: 'High'})[0]).toMatch(/^severity_id: must be an integer/);
    expect(ocsfProblems({...finding, evidences: [{}]})[0]).toMatch(/^evidences\[0\]: needs at least one of/);
    expect(ocsfProblems({...finding, finding_info: {...(finding.finding_info as object), bogus: 1}})).toEqual(['finding_info.bogus: not an attribute here']);
  });
});

describe('ECS and OCSF renderers', () => {
  const record = {
    id: 'a0fc985c-e705-4da4-87d0-187a8f735699',
    scan_id: 1,
    collection_time: 1_764_000_000_000,
    pid: 4242,
    ppid: 1,
    name: 'nginx',
    executable_path: '/usr/sbin/nginx',
    command_line: ['nginx', '-g', 'daemon off;'],
    start_time: 1_763_999_000_000,
    cpu_usage: 0.1,
    memory_usage: 1024,
    executable_hash: 'a'.repeat(64),
    hash_algorithm: 'sha256',
    user_id: '33',
    accessible: true,
    file_exists: false,
    platform_data: {
      user_name: 'www-data',
      euid: 33,
      gid: 33,
      cwd: '/',
      session_id: 4242,
      process_group: 4242,
      entity_id: 'e1',
      container_id: 'c0ffee',
      tty: 'pts/0',
    },
  };

  it('map a process record: ECS state event and OCSF Live Evidence Info and Process Activity: Launch', () => {
    const ecs = ecsProcessEvent(record, TEST_HOST) as Record<string, any>;
    expectEcs([ecs]);
    expect(ecs.event).toMatchObject({kind: 'state', category: ['process'], type: ['info']});
    expect(ecs.process).toMatchObject({pid: 4242, parent: {pid: 1}, hash: {sha256: 'a'.repeat(64)}, entity_id: 'e1', args: record.command_line});
    expect(ecs.host).toMatchObject({id: TEST_HOST.id, name: 'web-01', boot: {id: TEST_HOST.boot_id}});
    expect(ecs.labels).toEqual({env: 'prod'});
    expect(ecs.container).toEqual({id: 'c0ffee'});
    expectOcsf([ocsfEvidenceInfo(record, TEST_HOST)], 5040);
    expectOcsf([ocsfProcessLaunch(record, TEST_HOST)], 1007);
    expect(ocsfEvidenceInfo(record, null)).toMatchObject({query_evidence: {query_type_id: 10, process: {pid: 4242, file: {is_deleted: true}}}});
  });

  it('map an alert: ECS alert event with rule and threat, OCSF Detection Finding with attacks and evidences', () => {
    const alert = makeAlert({attack_techniques: ['T1059.004', 'T1036'], attack_tactics: ['execution', 'defense-evasion']});
    const ecs = ecsAlertEvent(alert) as Record<string, any>;
    expectEcs([ecs, ecsAlertEvent(makeAlert({host: null, attack_techniques: [], attack_tactics: [], alert_data: null}))]);
    expect(ecs.event.kind).toBe('alert');
    expect(ecs.rule).toMatchObject({id: alert.rule_id, name: alert.title});
    expect(ecs.threat).toMatchObject({
      framework: 'MITRE ATT&CK',
      technique: {id: ['T1059', 'T1036'], subtechnique: {id: ['T1059.004']}},
      tactic: {id: ['TA0002', 'TA0005'], name: ['Execution', 'Defense Evasion']},
    });
    const finding = ocsfDetectionFinding(alert) as Record<string, any>;
    expectOcsf([finding, ocsfDetectionFinding(makeAlert({host: null, attack_techniques: [], attack_tactics: [], severity: 'informational'}))], 2004);
    expect(finding.finding_info).toMatchObject({uid: alert.id, analytic: {uid: alert.rule_id, type_id: 1}});
    expect(finding.attacks).toEqual(finding.finding_info.attacks);
    expect(finding.attacks[0]).toEqual({technique: {uid: 'T1059'}, sub_technique: {uid: 'T1059.004'}});
    expect(finding.severity_id).toBe(4);
    expect(finding.evidences).toEqual([{process: {pid: 1234, name: 'malware.exe'}}]);
  });
});

describe('every command and sink that emits ECS or OCSF', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let snapshot: string;
  let older: string;
  let rules: string;

  beforeAll(async () => {
    home = tempDir();
    env = isolatedEnv(home, {DAEMONEYE_COLLECTION__DECORATIONS: '{"env": "ci"}'});
    rules = join(home, 'rules');
    mkdirSync(rules);
    writeFileSync(join(rules, 'init.yaml'), RULE);
    older = join(home, 'older.db');
    snapshot = join(home, 'snap.db');
    expect((await runCli(['scan', '--no-hash', '--output', older], {env})).code).toBe(0);
    // A process started between the two scans: a Process Activity: Launch in the diff.
    execFileSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 &']);
    const scan = await runCli(['scan', '--output', snapshot], {env});
    expect(scan.code, scan.stderr).toBe(0);
  }, 60_000);
  afterAll(() => removeDir(home));

  it('scan --format ecs|ocsf: one event per process of the live host', async () => {
    const ecs = await runCli(['scan', '--no-hash', '--format', 'ecs'], {env});
    expect(ecs.code, ecs.stderr).toBe(0);
    const docs = parseNdjson(ecs.stdout);
    expectEcs(docs);
    expect(docs.every((d) => (d.labels as {env: string}).env === 'ci' && (d.host as {id: string}).id === readFileSync('/etc/machine-id', 'utf8').trim())).toBe(
      true,
    );
    const ocsf = await runCli(['scan', '--no-hash', '--format', 'ocsf'], {env});
    expect(ocsf.code, ocsf.stderr).toBe(0);
    expectOcsf(parseNdjson(ocsf.stdout), 5040);
    const saved = await runCli(['scan', '--input', snapshot, '--format', 'ocsf'], {env});
    expectOcsf(parseNdjson(saved.stdout), 5040);
  });

  it('detect --format ecs|ocsf: alerts with the rule, ATT&CK and host', async () => {
    const args = ['detect', '--input', snapshot, '--rules', rules, '--rule', 'test-schema-init'];
    const ecs = await runCli([...args, '--format', 'ecs'], {env});
    expect(ecs.code, ecs.stderr).toBe(0);
    const [alert] = parseNdjson<Record<string, any>>(ecs.stdout);
    expectEcs([alert]);
    expect(alert?.threat.technique.id).toEqual(['T1059', 'T1036']);
    expect(alert?.process.pid).toBe(1);
    const ocsf = await runCli([...args, '--format', 'ocsf'], {env});
    const findings = parseNdjson<Record<string, any>>(ocsf.stdout);
    expectOcsf(findings, 2004);
    expect(findings[0]?.device.uid).toBe(readFileSync('/etc/machine-id', 'utf8').trim());
  });

  it('query --format ecs|ocsf maps process rows, and refuses rows without a pid', async () => {
    for (const [format, check] of [
      ['ecs', (d: unknown[]) => expectEcs(d)],
      ['ocsf', (d: unknown[]) => expectOcsf(d, 5040)],
    ] as const) {
      const result = await runCli(['query', 'SELECT * FROM processes', '--input', snapshot, '--format', format], {env});
      expect(result.code, result.stderr).toBe(0);
      check(parseNdjson(result.stdout));
    }
    const bad = await runCli(['query', 'SELECT count(*) AS n FROM processes', '--input', snapshot, '--format', 'ecs'], {env});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/every row needs a numeric pid column/);
  });

  it('export --format ecs|ocsf of processes and alerts; other tables are refused', async () => {
    const store = join(home, 'store');
    expect((await runCli(['detect', '--rules', rules, '--rule', 'test-schema-init', '--store', store], {env})).code).toBe(0);
    for (const format of ['ecs', 'ocsf'] as const) {
      const processes = await runCli(['export', '--input', snapshot, '--format', format], {env});
      expect(processes.code, processes.stderr).toBe(0);
      const alerts = await runCli(['export', '--input', store, '--table', 'alerts', '--format', format], {env});
      expect(alerts.code, alerts.stderr).toBe(0);
      if (format === 'ecs') {
        expectEcs(parseNdjson(processes.stdout));
        expectEcs(parseNdjson(alerts.stdout));
      } else {
        expectOcsf(parseNdjson(processes.stdout), 5040);
        expectOcsf(parseNdjson(alerts.stdout), 2004);
      }
    }
    const refused = await runCli(['export', '--input', snapshot, '--table', 'scans', '--format', 'ocsf'], {env});
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--format ocsf maps processes and alerts, not --table scans/);
  });

  it('diff --format ocsf: processes new since the older scan as Process Activity: Launch', async () => {
    const result = await runCli(['diff', older, snapshot, '--format', 'ocsf'], {env});
    expect(result.code, result.stderr).toBe(0);
    const launches = parseNdjson<Record<string, any>>(result.stdout);
    expectOcsf(launches, 1007);
    expect(launches.some((l) => l.process.name === 'sleep')).toBe(true);
  });

  it('the file and webhook sinks with format ecs and ocsf', async () => {
    const bodies: string[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const config = join(home, 'sinks.yaml');
      writeFileSync(
        config,
        [
          'alerting:',
          '  sinks:',
          `    - {name: f-ecs, type: file, format: ecs, path: ${join(home, 'ecs.ndjson')}}`,
          `    - {name: f-ocsf, type: file, format: ocsf, path: ${join(home, 'ocsf.ndjson')}}`,
          `    - {name: w-ecs, type: webhook, format: ecs, url: "http://127.0.0.1:${port}/ecs"}`,
          `    - {name: w-ocsf, type: webhook, format: ocsf, url: "http://127.0.0.1:${port}/ocsf"}`,
        ].join('\n'),
      );
      const result = await runCli(['detect', '--config', config, '--input', snapshot, '--rules', rules, '--rule', 'test-schema-init'], {env});
      expect(result.code, result.stderr).toBe(0);
      expectEcs(parseNdjson(readFileSync(join(home, 'ecs.ndjson'), 'utf8')));
      expectOcsf(parseNdjson(readFileSync(join(home, 'ocsf.ndjson'), 'utf8')), 2004);
      const parsed = bodies.map((b) => JSON.parse(b) as Record<string, unknown>);
      expect(parsed).toHaveLength(2);
      expectEcs(parsed.filter((b) => 'ecs' in b));
      expectOcsf(
        parsed.filter((b) => 'class_uid' in b),
        2004,
      );
    } finally {
      server.close();
    }
  });
});
