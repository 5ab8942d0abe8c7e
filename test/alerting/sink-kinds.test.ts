import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {loadSinkKinds, SINK_KINDS, sinkKind, sinkSecrets} from '../../src/alerting/sinks/sink-kinds.js';
import {type SinkConfig, SinkSchema} from '../../src/config/schema.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

const sink = (config: Record<string, unknown>): SinkConfig => SinkSchema.parse(config);

describe('SINK_KINDS', () => {
  it('loads only the kinds asked for; a kind used before it is loaded is a programming error', async () => {
    const file = sink({name: 'f', type: 'file', path: join(dir, 'alerts.ndjson')});
    const webhook = sink({name: 'w', type: 'webhook', url: 'https://siem.example/in'});
    expect(() => sinkKind(file)).toThrow(/programming error: the file sink kind is used before loadSinkKinds\(\) loaded it/);
    await loadSinkKinds([file]);
    expect(sinkKind(file).type).toBe('file');
    expect(() => sinkSecrets(webhook)).toThrow(/the webhook sink kind is used before/);
    await loadSinkKinds();
    expect(sinkKind(webhook).where(webhook)).toBe('https://siem.example/in');
  });

  it('has one kind per type of the configuration union, each under its own type', async () => {
    const types = SinkSchema.options.map((option) => option.shape.type.value).sort();
    expect(Object.keys(SINK_KINDS).sort()).toEqual(types);
    for (const [type, load] of Object.entries(SINK_KINDS)) expect((await load()).type).toBe(type);
  });
});

describe('a sink kind', () => {
  beforeAll(() => loadSinkKinds());

  it('names the webhook`s secrets: headers and the token after the scheme word, the HMAC secret, the URL password and the Basic credentials', () => {
    const webhook = sink({
      name: 'siem',
      type: 'webhook',
      url: 'https://bob:p%40ss@siem.example/in?x=1',
      headers: {Authorization: 'Bearer tok-1', 'X-Key': 'k2'},
      hmac_secret: 'hmac-3',
    });
    expect(sinkSecrets(webhook)).toEqual(['Bearer tok-1', 'tok-1', 'k2', 'hmac-3', 'p%40ss', 'p@ss', `Basic ${Buffer.from('bob:p@ss').toString('base64')}`]);
    expect(sinkKind(webhook).where(webhook)).toBe('https://siem.example/in');
  });

  it('states that the file, stdout and syslog sinks hold no secret', () => {
    const sinks = [
      sink({name: 'f', type: 'file', path: join(dir, 'alerts.ndjson')}),
      sink({name: 'o', type: 'stdout'}),
      sink({name: 's', type: 'syslog', protocol: 'udp', host: '127.0.0.1'}),
    ];
    for (const config of sinks) expect(sinkSecrets(config), config.type).toEqual([]);
  });

  it('probes a file sink: a writable directory is reachable, a path under a regular file is not', async () => {
    mkdirSync(join(dir, 'out'));
    const fine = sink({name: 'f', type: 'file', path: join(dir, 'out', 'deep', 'alerts.ndjson')});
    expect(await sinkKind(fine).probe(fine, 1000)).toEqual({
      reachable: true,
      detail: `${join(dir, 'out', 'deep', 'alerts.ndjson')} will be created with its directories under ${join(dir, 'out')} (${join(dir, 'out')} is writable)`,
    });
    writeFileSync(join(dir, 'plain'), 'x');
    const blocked = sink({name: 'f', type: 'file', path: join(dir, 'plain', 'alerts.ndjson')});
    expect(await sinkKind(blocked).probe(blocked, 1000)).toEqual({
      reachable: false,
      detail: `${join(dir, 'plain', 'alerts.ndjson')}: ${join(dir, 'plain')} is not a directory`,
    });
  });
});
