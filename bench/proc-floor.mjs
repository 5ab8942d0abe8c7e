// The floor for Node: read the same /proc files the collector reads, synchronously, with the plainest
// calls (readFileSync, readlinkSync, statSync), no parsing beyond what finding the exe path needs.
// Prints {"read_ms": N, "processes": N} on stdout.
import {readdirSync, readFileSync, readlinkSync, statSync} from 'node:fs';

const started = performance.now();
let processes = 0;
const attempt = (read) => {
  try {
    return read();
  } catch {
    return null;
  }
};
for (const name of readdirSync('/proc')) {
  if (!/^\d+$/.test(name)) continue;
  const dir = `/proc/${name}`;
  if (attempt(() => readFileSync(`${dir}/stat`, 'utf8')) === null) continue;
  processes++;
  attempt(() => readFileSync(`${dir}/status`, 'utf8'));
  attempt(() => readFileSync(`${dir}/cmdline`, 'utf8'));
  const exe = attempt(() => readlinkSync(`${dir}/exe`));
  if (exe !== null) {
    attempt(() => statSync(`${dir}/exe`));
    attempt(() => statSync(`${dir}/root${exe.replace(/ \(deleted\)$/, '')}`));
  }
  attempt(() => readlinkSync(`${dir}/cwd`));
  for (const fd of [0, 1, 2]) attempt(() => readlinkSync(`${dir}/fd/${fd}`));
  attempt(() => readFileSync(`${dir}/environ`));
  attempt(() => readFileSync(`${dir}/cgroup`, 'utf8'));
  for (const ns of ['pid', 'mnt', 'net']) attempt(() => readlinkSync(`${dir}/ns/${ns}`));
}
process.stdout.write(`${JSON.stringify({read_ms: performance.now() - started, processes})}\n`);
