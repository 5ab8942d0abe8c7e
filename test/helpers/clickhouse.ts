// A real ClickHouse server (Debian's clickhouse-server) on loopback for the tests: its own temp directory,
// free ports, a `shipper` user with a password, stopped by the caller. Started by the tests that insert into it.
import {type ChildProcess, spawn} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';

import {removeDir, tempDir} from './cli.js';

export const CLICKHOUSE_USER = 'shipper';
export const CLICKHOUSE_PASSWORD = 's3cret-ClickHouse pass';

export interface ClickHouseServer {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  /** The native protocol's port (clickhouse-client --port). */
  readonly tcpPort: number;
  /** Run SQL as the default user; the answer's text (throws on an error answer). */
  query(sql: string): Promise<string>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number};
      server.close(() => resolve(port));
    });
  });
}

/** Start clickhouse-server on free loopback ports and wait until it answers (at most 60 s). */
export async function startClickHouse(): Promise<ClickHouseServer> {
  const dir = tempDir('daemoneye-clickhouse-');
  const [http, tcp] = [await freePort(), await freePort()];
  for (const sub of ['data', 'tmp', 'user_files']) mkdirSync(join(dir, sub));
  writeFileSync(
    join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog></logger>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>64</max_connections>
  <mark_cache_size>67108864</mark_cache_size>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
`,
  );
  writeFileSync(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <${CLICKHOUSE_USER}><password>${CLICKHOUSE_PASSWORD}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${CLICKHOUSE_USER}>
  </users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  const child: ChildProcess = spawn('clickhouse-server', [`--config-file=${join(dir, 'config.xml')}`], {cwd: dir, stdio: 'ignore'});
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  const url = `http://127.0.0.1:${http}/`;
  const query = async (sql: string): Promise<string> => {
    const response = await fetch(url, {method: 'POST', body: sql});
    const text = await response.text();
    if (!response.ok) throw new Error(`ClickHouse: ${text}`);
    return text;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    removeDir(dir);
  };
  const started = Date.now();
  for (;;) {
    if (spawnError !== undefined || child.exitCode !== null)
      throw new Error(`clickhouse-server did not run (${spawnError?.message ?? `exit ${child.exitCode}`}; install it: apt-get install -y clickhouse-server)`);
    try {
      if ((await (await fetch(`${url}ping`)).text()).startsWith('Ok')) break;
    } catch {
      // not up yet
    }
    if (Date.now() - started > 60_000) {
      await stop();
      throw new Error('clickhouse-server did not answer within 60 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {url, port: http, tcpPort: tcp, query, stop};
}
