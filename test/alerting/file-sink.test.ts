import {spawn} from 'node:child_process';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {FILE_SINK, FileSink, type FileSinkConfig} from '../../src/alerting/sinks/file.js';
import {removeDir, ROOT, tempDir} from '../helpers/cli.js';
import {makeAlert, sink} from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('daemoneye-filesink-');
});
afterEach(() => removeDir(dir));

const runOptions = (warn?: (m: string) => void) => ({signal: AbortSignal.timeout(20_000), deadline: Date.now() + 20_000, ...(warn ? {warn} : {})});
const fileConfig = (extra: Record<string, unknown> = {}) => sink({name: 'file', type: 'file', path: join(dir, 'alerts.ndjson'), ...extra}) as FileSinkConfig;

describe('FileSink', () => {
  it('appends one NDJSON line per alert, creating the file', async () => {
    const alerts = [makeAlert(), makeAlert({description: 'line\nbreak and \u2028 separator'})];
    const result = await new FileSink(fileConfig()).send(alerts, runOptions());
    expect(result).toMatchObject({delivered: [true, true], error: null});
    await new FileSink(fileConfig()).send([makeAlert()], runOptions());
    const text = readFileSync(join(dir, 'alerts.ndjson'), 'utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[1]!)).toEqual(alerts[1]);
  });

  it('rotates by size to path.1 … path.N, keeping max_files', async () => {
    const one = Buffer.byteLength(`${JSON.stringify(makeAlert())}\n`);
    const config = fileConfig({max_bytes: one * 2, max_files: 2});
    for (let i = 0; i < 7; i++) await new FileSink(config).send([makeAlert({rule_id: `r${i}`, dedupe_key: `r${i}:malware.exe`})], runOptions());
    const read = (path: string) =>
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as {rule_id: string}).rule_id);
    expect(read(join(dir, 'alerts.ndjson'))).toEqual(['r6']);
    expect(read(join(dir, 'alerts.ndjson.1'))).toEqual(['r4', 'r5']);
    expect(read(join(dir, 'alerts.ndjson.2'))).toEqual(['r2', 'r3']);
    expect(existsSync(join(dir, 'alerts.ndjson.3'))).toBe(false);
  });

  it('reports a torn last line and starts new alerts on a fresh line', async () => {
    writeFileSync(join(dir, 'alerts.ndjson'), '{"id":"whole"}\n{"id":"tor');
    const warnings: string[] = [];
    await new FileSink(fileConfig()).send(
      [makeAlert()],
      runOptions((m) => warnings.push(m)),
    );
    expect(warnings.join('')).toContain('the last line is torn');
    const lines = readFileSync(join(dir, 'alerts.ndjson'), 'utf8').split('\n');
    expect(lines[1]).toBe('{"id":"tor');
    expect(() => JSON.parse(lines[2]!)).not.toThrow();
  });

  it('reports an unwritable path as a failed delivery, not a crash', async () => {
    const result = await new FileSink(fileConfig({path: join(dir, 'missing-dir', 'x', 'alerts.ndjson')})).send([makeAlert()], runOptions());
    // The lock creates the parent directory; a path under a file cannot be created at all.
    writeFileSync(join(dir, 'plain'), '');
    const blocked = await new FileSink(fileConfig({path: join(dir, 'plain', 'alerts.ndjson')})).send([makeAlert()], runOptions());
    expect(result.delivered).toEqual([true]);
    expect(blocked.delivered).toEqual([false]);
    expect(blocked.error).toContain(join(dir, 'plain'));
  });

  it('a path on /proc or /sys is a failed delivery saying so (not a missing directory), and the probe says it too', async () => {
    for (const [path, where] of [
      ['/proc/sys/kernel/daemoneye-sink', '/proc'],
      ['/sys/kernel/daemoneye-dir/alerts.ndjson', 'sysfs'],
    ] as const) {
      // The configuration refuses such a path (a config's check, src/config/schema.ts); the sink must hold on
      // its own for a configuration built another way, and for kernel file systems mounted elsewhere.
      const config = {...fileConfig(), path};
      const result = await new FileSink(config).send([makeAlert()], runOptions());
      expect(result.delivered).toEqual([false]);
      expect(result.error).toBe(`file sink ${path} is on ${where}, a kernel interface, not a place for files (give a path on a disk)`);
      expect(await FILE_SINK.probe(config, 1000)).toMatchObject({
        reachable: false,
        detail: expect.stringContaining(`is on ${where}, a kernel interface`) as unknown,
      });
    }
  });

  it('4 concurrent processes appending to one file leave only whole lines', async () => {
    const path = join(dir, 'shared.ndjson');
    const script = (worker: number) => `
      import {FileSink} from ${JSON.stringify(join(ROOT, 'dist/src/alerting/sinks/file.js'))};
      import {randomUUID} from 'node:crypto';
      const sink = new FileSink({name: 'f', type: 'file', path: ${JSON.stringify(path)}, max_bytes: null, max_files: 5, min_severity: 'low'});
      for (let batch = 0; batch < 25; batch++) {
        const alerts = Array.from({length: 4}, (_, i) => ({
          id: randomUUID(), alert_time: Date.now(), rule_id: 'w${worker}', title: 't', description: 'x'.repeat(20000 + i),
          severity: 'high', scan_id: null, affected_processes: [${worker}], process_count: 1, alert_data: {batch}, rule_execution_time_ms: null, dedupe_key: 'w${worker}:' + batch,
        }));
        const result = await sink.send(alerts, {signal: AbortSignal.timeout(60000), deadline: Date.now() + 60000});
        if (result.error !== null) { console.error(result.error); process.exit(1); }
      }
    `;
    const codes = await Promise.all(
      [0, 1, 2, 3].map(
        (worker) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script(worker)], {stdio: ['ignore', 'ignore', 'inherit']});
            child.on('exit', (code) => resolve(code));
          }),
      ),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const records = text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as {rule_id: string; description: string});
    expect(records).toHaveLength(400);
    for (const worker of [0, 1, 2, 3]) expect(records.filter((r) => r.rule_id === `w${worker}`)).toHaveLength(100);
  });
});
