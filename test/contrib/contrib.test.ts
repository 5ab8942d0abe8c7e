// The operations files in contrib/ are checked with the real tools where they run here (systemd-analyze,
// rsyslogd -N1); Vector and Fluent Bit are not installable from Debian, so their configurations are checked
// against the component options their documentation lists (vector.dev/docs/reference/configuration,
// docs.fluentbit.io/manual/administration/configuring-fluent-bit/yaml).
import {spawn, spawnSync} from 'node:child_process';
import {copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {parse} from 'yaml';
import {afterAll, describe, expect, it} from 'vitest';

import {snapshotFromRows} from '../../src/detection/fixture-snapshot.js';
import {freePort, RSYSLOGD, tcpListener, udpListener} from '../alerting/syslog-helpers.js';
import {BIN, isolatedEnv, removeDir, ROOT, runCli, tempDir} from '../helpers/cli.js';
import {waitFor} from '../helpers/wait.js';

const CONTRIB = join(ROOT, 'contrib');
const dir = tempDir('daemoneye-contrib-');
afterAll(() => removeDir(dir));

function run(command: string, args: readonly string[]): {status: number | null; stdout: string; stderr: string} {
  const result = spawnSync(command, args, {encoding: 'utf8', cwd: dir});
  return {status: result.status, stdout: result.stdout, stderr: result.stderr};
}

/** The units with ExecStart pointing at the built CLI (verify checks that the program exists). */
function installUnits(target: string, edit: (service: string) => string = (s) => s): string {
  mkdirSync(target, {recursive: true});
  const service = readFileSync(join(CONTRIB, 'systemd', 'daemoneye-detect.service'), 'utf8').replaceAll('/usr/local/bin/daemoneye', BIN);
  writeFileSync(join(target, 'daemoneye-detect.service'), edit(service));
  copyFileSync(join(CONTRIB, 'systemd', 'daemoneye-detect.timer'), join(target, 'daemoneye-detect.timer'));
  return target;
}

function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match !== null) settings.set(match[1] as string, [...(settings.get(match[1] as string) ?? []), match[2] as string]);
  }
  return settings;
}

describe('contrib/systemd', () => {
  it('passes systemd-analyze verify without a warning', () => {
    const units = installUnits(join(dir, 'units'));
    const result = run('systemd-analyze', ['verify', join(units, 'daemoneye-detect.service'), join(units, 'daemoneye-detect.timer')]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('is a check that can fail: an unknown key and a missing program are reported', () => {
    const units = installUnits(join(dir, 'bad-units'), (s) => s.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes').replace(BIN, '/nonexistent/daemoneye'));
    const result = run('systemd-analyze', ['verify', join(units, 'daemoneye-detect.service')]);
    expect(result.stderr).toMatch(/Unknown key 'NoNewPrivilege'/);
    expect(result.stderr).toMatch(/nonexistent/);
  });

  it('is hardened: exposure at most 3.0, only the two capabilities collection needs', () => {
    const units = installUnits(join(dir, 'units-security'));
    const result = run('systemd-analyze', ['security', '--offline=yes', join(units, 'daemoneye-detect.service')]);
    const exposure = Number(/Overall exposure level for daemoneye-detect\.service: ([\d.]+)/.exec(result.stdout)?.[1]);
    expect(exposure).toBeLessThanOrEqual(3.0);
    const settings = unitSettings(readFileSync(join(CONTRIB, 'systemd', 'daemoneye-detect.service'), 'utf8'));
    expect(settings.get('CapabilityBoundingSet')).toEqual(['CAP_SYS_PTRACE CAP_DAC_READ_SEARCH']);
    expect(settings.get('ProtectSystem')).toEqual(['strict']);
    expect(settings.get('ReadWritePaths')).toContain('/var/lib/daemoneye');
    for (const key of ['NoNewPrivileges', 'PrivateTmp']) expect(settings.get(key)).toEqual(['yes']);
    expect(settings.get('ProtectHome')).toEqual(['read-only']);
    // Hiding other users' processes would blind the collector.
    expect(settings.get('ProtectProc')).toEqual(['default']);
    const timer = unitSettings(readFileSync(join(CONTRIB, 'systemd', 'daemoneye-detect.timer'), 'utf8'));
    expect(timer.get('Unit')).toEqual(['daemoneye-detect.service']);
    expect(timer.get('WantedBy')).toEqual(['timers.target']);
  });
});

describe('contrib/rsyslog', () => {
  function check(includeFile: string): {status: number | null; stderr: string} {
    const work = join(dir, 'rsyslog-work');
    mkdirSync(work, {recursive: true});
    const main = join(dir, 'rsyslog-main.conf');
    // As the stock rsyslog.conf includes it: a work directory set globally, imuxsock loaded, the file included.
    writeFileSync(main, `global(workDirectory="${work}")\nmodule(load="imuxsock" SysSock.Use="off")\ninclude(file="${includeFile}")\n`);
    return run('rsyslogd', ['-N1', '-f', main]);
  }

  it('is accepted by rsyslogd -N1', () => {
    const result = check(join(CONTRIB, 'rsyslog', '60-daemoneye.conf'));
    expect(result.stderr).toMatch(/End of config validation run/);
    expect(result.status).toBe(0);
  });

  it('is a check that can fail: a misspelt parameter is refused', () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, readFileSync(join(CONTRIB, 'rsyslog', '60-daemoneye.conf'), 'utf8').replace('TCP_Framing=', 'TCP_Frameing='));
    const result = check(bad);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/TCP_Frameing/);
  });
});

/** A CA and a server certificate for `siem.example.internal` it signed, made with the openssl CLI. */
function collectorCertificates(work: string): {ca: string; key: string; cert: string} {
  const file = (name: string): string => join(work, name);
  const openssl = (args: string[]): void => {
    const result = spawnSync('openssl', args, {encoding: 'utf8', cwd: work});
    if (result.status !== 0) throw new Error(`openssl ${args[0] ?? ''}: ${result.stderr}`);
  };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=Test syslog CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=siem.example.internal']);
  writeFileSync(file('san.ext'), 'subjectAltName=DNS:siem.example.internal\n');
  openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.pem'),
    '-days',
    '2',
    '-extfile',
    file('san.ext'),
  ]);
  return {ca: file('ca.pem'), key: readFileSync(file('server.key'), 'utf8'), cert: readFileSync(file('server.pem'), 'utf8')};
}

describe('contrib/rsyslog with a real rsyslogd (stock imuxsock parsing, private sockets and work directory)', () => {
  // Through /dev/log (stock settings) and UDP, to a TLS collector: the client must speak TLS and accept the
  // collector's certificate for siem.example.internal, signed by the CA the file names.
  it.each(['dev-log', 'udp'] as const)('forwards alerts a detect run sends via %s to a TLS collector, header and structured data intact', async (route) => {
    const work = join(dir, `rsyslog-live-${route}`);
    mkdirSync(work, {recursive: true});
    const {ca, key, cert} = collectorCertificates(work);
    const collector = await tcpListener({key, cert});
    // A copy of exactly what DaemonEye sent, by a second sink: what the collector must receive where nothing rewrites it.
    const sent = await udpListener();
    const devLog = join(work, 'log.sock');
    const udpPort = await freePort('udp');
    // The shipped file with only what a user must set (the collector's address and CA), and private paths.
    const shipped = readFileSync(join(CONTRIB, 'rsyslog', '60-daemoneye.conf'), 'utf8')
      .replaceAll('target="siem.example.internal"', 'target="127.0.0.1"')
      .replaceAll('port="6514"', `port="${collector.port}"`)
      .replaceAll('StreamDriver.CAFile="/etc/ssl/certs/ca-certificates.crt"', `StreamDriver.CAFile="${ca}"`)
      .replace('/var/lib/daemoneye/alerts.ndjson', join(work, 'alerts.ndjson'));
    writeFileSync(join(work, '60-daemoneye.conf'), shipped);
    // As Debian's rsyslog.conf: imuxsock loaded with its defaults (here on a private socket, not /dev/log), then rsyslog.d included.
    writeFileSync(
      join(work, 'rsyslog.conf'),
      [
        `global(workDirectory="${work}")`,
        'module(load="imuxsock" SysSock.Use="off")',
        `input(type="imuxsock" Socket="${devLog}" CreatePath="on")`,
        'module(load="imudp")',
        `input(type="imudp" address="127.0.0.1" port="${udpPort}")`,
        `include(file="${join(work, '60-daemoneye.conf')}")`,
        `*.* action(type="omfile" file="${join(work, 'everything-else.log')}")`,
        '',
      ].join('\n'),
    );
    const rsyslogd = spawn(RSYSLOGD, ['-n', '-f', join(work, 'rsyslog.conf'), '-i', join(work, 'rsyslogd.pid')], {stdio: 'ignore'});
    try {
      await waitFor(() => existsSync(devLog), 'rsyslogd socket', 15_000);
      const home = join(work, 'home');
      const snapshot = join(work, 'snapshot.db');
      writeFileSync(snapshot, await snapshotFromRows([{pid: 4242, name: 'xmrig', executable_path: '/tmp/xmrig'}]));
      const rules = join(work, 'rules');
      mkdirSync(rules);
      writeFileSync(
        join(rules, 'tmp.yaml'),
        "id: tmp-exec\nname: Executable in /tmp\nseverity: high\nsql_query: SELECT pid, name FROM processes WHERE executable_path LIKE '/tmp/%'\n",
      );
      const sink =
        route === 'dev-log'
          ? `{name: local, type: syslog, protocol: unix, socket_path: ${devLog}}`
          : `{name: local, type: syslog, protocol: udp, host: 127.0.0.1, port: ${udpPort}}`;
      const copy = `{name: copy, type: syslog, protocol: udp, host: 127.0.0.1, port: ${sent.port}}`;
      writeFileSync(join(work, 'config.yaml'), `detection:\n  builtin_rules: false\nalerting:\n  sinks:\n    - ${sink}\n    - ${copy}\n`);
      const result = await runCli(['detect', '--config', join(work, 'config.yaml'), '--input', snapshot, '--rules', rules], {env: isolatedEnv(home)});
      expect(result.code, result.stderr).toBe(0);
      await waitFor(() => collector.messages.length > 0, 'the forwarded alert', 20_000);
      const [message] = collector.messages;
      // <PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID [SD] MSG: APP-NAME is daemoneye, not "1".
      expect(message).toMatch(/^<\d+>1 \S+ \S+ daemoneye \S+ ALERT /);
      expect(message).toContain('[daemoneye@32473 rule_id="tmp-exec" severity="high"');
      expect(message).toContain('Executable in /tmp');
      // Exactly as DaemonEye sent it over UDP; through /dev/log util-linux logger writes the message and stamps
      // its own time in the header, but the alert's own time is in the structured data either way.
      await waitFor(() => sent.messages.length > 0, 'the copy', 5_000);
      const original = sent.messages[0] ?? '';
      const headerTime = (text: string): string | undefined => /^<\d+>1 (\S+)/.exec(text)?.[1];
      if (route === 'udp') expect(message).toBe(original);
      else expect(message?.replace(/^(<\d+>1) \S+/, '$1')).toBe(original.replace(/^(<\d+>1) \S+/, '$1'));
      expect(message).toContain(`alert_time="${headerTime(original) ?? ''}"`);
      expect(collector.errors).toEqual([]);
    } finally {
      rsyslogd.kill('SIGTERM');
      await collector.close();
      await sent.close();
    }
  });
});

describe('docs/operations/cron.md', () => {
  const cron = readFileSync(join(ROOT, 'docs', 'operations', 'cron.md'), 'utf8');

  it('its cron line runs as written once the log directory exists (no metrics file in a directory that may not exist)', () => {
    const line = /^\*\/5 \* \* \* \* root (.*)$/m.exec(cron)?.[1];
    expect(line).toBeDefined();
    expect(line).not.toContain('--metrics-file');
    const work = join(dir, 'cron');
    const bin = join(work, 'bin');
    mkdirSync(bin, {recursive: true});
    writeFileSync(join(bin, 'daemoneye'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, {mode: 0o755});
    const logs = join(work, 'log');
    const script = (line ?? '').replaceAll('/var/log/daemoneye', logs).replaceAll('/run/daemoneye.cron.lock', join(work, 'cron.lock'));
    // As the page says: create the log directory first.
    const install = /`(install -d -m 0750 \/var\/log\/daemoneye)`/.exec(cron)?.[1];
    expect(install).toBeDefined();
    const result = spawnSync('sh', ['-c', `${(install ?? '').replace('/var/log/daemoneye', logs)} && ${script}`], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        HOME: work,
        STATE_DIRECTORY: join(work, 'state'),
        DAEMONEYE_DETECTION__BUILTIN_RULES: 'false',
      },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(logs, 'daemoneye.log'), 'utf8')).toMatch(/rules? run on live/);
  });

  it('its deduplication snippet is a valid configuration that turns deduplication on', () => {
    const snippet = /```text\n(alerting:\n[\s\S]*?)```/.exec(cron)?.[1] ?? '';
    const file = join(dir, 'dedupe.yaml');
    writeFileSync(file, snippet);
    const shown = spawnSync(process.execPath, [BIN, 'config', 'show', '--config', file, '--format', 'json'], {
      encoding: 'utf8',
      env: {...process.env, HOME: dir},
    });
    expect(shown.status, shown.stderr).toBe(0);
    expect((JSON.parse(shown.stdout) as {alerting: {deduplication: {enabled: boolean}}}).alerting.deduplication.enabled).toBe(true);
  });

  it('the shipped systemd unit writes no metrics file by default (a missing textfile directory would fail every run)', () => {
    const unit = readFileSync(join(CONTRIB, 'systemd', 'daemoneye-detect.service'), 'utf8');
    expect(unit).not.toMatch(/--metrics-file|node-exporter/);
    const missing = spawnSync(process.execPath, [BIN, 'config', 'show', '--metrics-file', join(dir, 'no', 'such', 'dir', 'm.prom')], {
      encoding: 'utf8',
      env: {...process.env, HOME: dir},
    });
    expect(missing.status).toBe(3);
  });
});

type Component = Record<string, unknown> & {type?: string; name?: string; inputs?: string[]; match?: string; tag?: string};

describe('contrib/vector', () => {
  const config = parse(readFileSync(join(CONTRIB, 'vector', 'daemoneye.yaml'), 'utf8')) as {
    sources: Record<string, Component>;
    transforms: Record<string, Component>;
    sinks: Record<string, Component>;
  };
  const documented: Record<string, string[]> = {
    file: [
      'type',
      'include',
      'exclude',
      'read_from',
      'line_delimiter',
      'data_dir',
      'fingerprint',
      'glob_minimum_cooldown_ms',
      'ignore_older_secs',
      'max_line_bytes',
    ],
    exec: [
      'type',
      'command',
      'mode',
      'scheduled',
      'streaming',
      'decoding',
      'framing',
      'environment',
      'include_stderr',
      'working_directory',
      'maximum_buffer_size_bytes',
    ],
    remap: ['type', 'inputs', 'source', 'file', 'drop_on_error', 'drop_on_abort', 'reroute_dropped'],
    filter: ['type', 'inputs', 'condition'],
    http: [
      'type',
      'inputs',
      'uri',
      'method',
      'encoding',
      'framing',
      'auth',
      'buffer',
      'batch',
      'compression',
      'healthcheck',
      'request',
      'tls',
      'payload_prefix',
      'payload_suffix',
    ],
  };

  it('uses only documented component types and options', () => {
    for (const component of [...Object.values(config.sources), ...Object.values(config.transforms), ...Object.values(config.sinks)]) {
      const allowed = documented[component.type ?? ''];
      expect(allowed, `component type ${component.type}`).toBeDefined();
      for (const key of Object.keys(component)) expect(allowed, `${component.type}.${key}`).toContain(key);
    }
    expect(config.sources.daemoneye_alerts_exec?.scheduled).toEqual({exec_interval_secs: 300});
  });

  it('wires every input to a defined source or transform, reading the file sink and running detect as NDJSON', () => {
    const producers = new Set([...Object.keys(config.sources), ...Object.keys(config.transforms)]);
    for (const component of [...Object.values(config.transforms), ...Object.values(config.sinks)]) {
      for (const input of component.inputs ?? []) expect(producers, input).toContain(input);
    }
    expect(config.sources.daemoneye_alerts_file?.include).toEqual(['/var/lib/daemoneye/alerts.ndjson']);
    expect(config.sources.daemoneye_alerts_exec?.command).toEqual(['/usr/local/bin/daemoneye', 'detect', '--format', 'ndjson']);
    expect(String(config.transforms.daemoneye_parse?.source)).toContain('parse_json!');
    expect(String(config.transforms.daemoneye_parse?.source)).toContain('.alert_time');
  });
});

describe('contrib/fluent-bit', () => {
  const config = parse(readFileSync(join(CONTRIB, 'fluent-bit', 'daemoneye.yaml'), 'utf8')) as {
    service: Record<string, unknown>;
    parsers: Component[];
    pipeline: {inputs: Component[]; filters: Component[]; outputs: Component[]};
  };
  const documented: Record<string, string[]> = {
    tail: [
      'name',
      'tag',
      'path',
      'parser',
      'db',
      'read_from_head',
      'storage.type',
      'refresh_interval',
      'rotate_wait',
      'mem_buf_limit',
      'skip_long_lines',
      'path_key',
      'exclude_path',
    ],
    grep: ['name', 'match', 'regex', 'exclude', 'logical_op'],
    record_modifier: ['name', 'match', 'record', 'remove_key', 'allowlist_key'],
    http: [
      'name',
      'match',
      'host',
      'port',
      'uri',
      'format',
      'tls',
      'tls.verify',
      'header',
      'retry_limit',
      'http_user',
      'http_passwd',
      'json_date_key',
      'json_date_format',
      'compress',
    ],
  };

  it('has the documented sections and plugin options', () => {
    expect(Object.keys(config).sort()).toEqual(['parsers', 'pipeline', 'service']);
    for (const key of Object.keys(config.service)) expect(['flush', 'log_level', 'storage.path', 'http_server', 'parsers_file', 'daemon']).toContain(key);
    for (const plugin of [...config.pipeline.inputs, ...config.pipeline.filters, ...config.pipeline.outputs]) {
      const allowed = documented[plugin.name ?? ''];
      expect(allowed, `plugin ${plugin.name}`).toBeDefined();
      for (const key of Object.keys(plugin)) expect(allowed, `${plugin.name}.${key}`).toContain(key);
    }
  });

  it('routes the tailed alerts file through a defined JSON parser to the output', () => {
    const [tail] = config.pipeline.inputs;
    expect(tail?.path).toBe('/var/lib/daemoneye/alerts.ndjson');
    expect(config.parsers.map((p) => p.name)).toContain(tail?.parser);
    expect(config.parsers.find((p) => p.name === tail?.parser)?.format).toBe('json');
    for (const plugin of [...config.pipeline.filters, ...config.pipeline.outputs]) expect(plugin.match).toBe(tail?.tag);
  });
});

describe('contrib/ci', () => {
  it('runs rules validate and rules test --format junit in both job files', () => {
    const github = parse(readFileSync(join(CONTRIB, 'ci', 'github-actions.yml'), 'utf8')) as {jobs: Record<string, {steps: Array<{run?: string}>}>};
    const runs = Object.values(github.jobs).flatMap((job) => job.steps.map((step) => step.run ?? ''));
    expect(runs.some((line) => line.startsWith('daemoneye rules validate rules/'))).toBe(true);
    expect(runs.some((line) => /^daemoneye rules test rules\/ --format junit/.test(line))).toBe(true);
    const gitlab = parse(readFileSync(join(CONTRIB, 'ci', 'gitlab-ci.yml'), 'utf8')) as Record<
      string,
      {script?: string[]; artifacts?: {reports?: {junit?: string}}}
    >;
    const job = gitlab['daemoneye-rules'];
    expect(job?.script?.some((line) => line.startsWith('daemoneye rules validate rules/'))).toBe(true);
    expect(job?.script?.some((line) => /^daemoneye rules test rules\/ --format junit > rules-junit\.xml$/.test(line))).toBe(true);
    expect(job?.artifacts?.reports?.junit).toBe('rules-junit.xml');
  });

  it('installs only the checked tarball of this version, never a package by name', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;
    for (const name of ['github-actions.yml', 'gitlab-ci.yml']) {
      const text = readFileSync(join(CONTRIB, 'ci', name), 'utf8');
      const installs = [...text.matchAll(/npm install[^\n]*/g)].map((m) => m[0]);
      expect(installs, name).toEqual([`npm install --global --no-audit --no-fund ./tools/daemoneye-${version}.tgz`]);
      expect(text.indexOf('sha256sum --check --strict SHA256SUMS'), name).toBeLessThan(text.indexOf('npm install'));
      expect(text, name).not.toMatch(/npx |npm (i|install) (-g )?daemoneye/);
    }
  });
});
