// Summarise V8 CPU profiles (`node --cpu-prof`) of one command run: self time by part of the program
// (Node start-up and module loading, oclif, configuration, the /proc walk, hashing, sql.js, rules, …), one
// table per thread (the main thread and each rule worker write their own .cpuprofile).
// Usage: node bench/cpu-profile.mjs DIR   (DIR holds the .cpuprofile files of ONE run)
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';

/** The part of the program a profile node's script belongs to: first matching pattern wins. */
const PARTS = [
  ['(garbage collector)', (url, name) => name === '(garbage collector)'],
  ['(idle)', (url, name) => name === '(idle)'],
  ['sql.js (wasm)', (url) => url.startsWith('wasm://') || url.includes('sql-wasm')],
  ['oclif', (url) => url.includes('@oclif/')],
  ['zod', (url) => url.includes('/zod/')],
  ['yaml', (url) => url.includes('/yaml/')],
  ['re2js', (url) => url.includes('/re2js/')],
  ['other dependencies', (url) => url.includes('/node_modules/')],
  ['command + base command', (url) => url.includes('/dist/commands/')],
  ['configuration', (url) => url.includes('/dist/src/config/')],
  ['hashing', (url) => /\/dist\/src\/collect\/hash/.test(url)],
  ['/proc walk + live tables', (url) => url.includes('/dist/src/collect/')],
  ['snapshot build (storage)', (url) => url.includes('/dist/src/storage/')],
  ['rule worker', (url) => url.includes('/dist/src/detection/rule-worker') || url.includes('/dist/src/detection/regex')],
  ['rules (load, engine, alerts)', (url) => url.includes('/dist/src/detection/') || url.includes('/dist/src/app/')],
  ['alerting (dedupe, sinks)', (url) => url.includes('/dist/src/alerting/')],
  ['ledger + checkpoint signature', (url) => url.includes('/dist/src/audit/') || url.includes('/dist/src/crypto/')],
  ['rendering (output)', (url) => url.includes('/dist/src/output/') || url.includes('/dist/src/models/')],
  ['other daemoneye', (url) => url.includes('/dist/')],
];

function partOf(url, name) {
  for (const [part, test] of PARTS) if (test(url, name)) return part;
  return 'other';
}

const ours = (url) => url.includes('/dist/') || url.includes('/node_modules/') || url.startsWith('wasm://');
const loading = (url) => url.startsWith('node:internal/modules/');

/**
 * The part a sample is charged to: module loading when the stack is inside Node's module loader (import,
 * compile, top-level evaluation); otherwise the innermost frame of our code or a dependency, so the time a
 * Node built-in (fs, Buffer, crypto, postMessage) spends counts for the code that called it.
 */
function chargeOf(node, parentOf) {
  const {url, functionName} = node.callFrame;
  if (functionName === '(garbage collector)' || functionName === '(idle)' || functionName === '(program)') return functionName;
  for (let n = node; n !== undefined; n = parentOf.get(n.id)) if (loading(n.callFrame.url)) return 'module loading (import, compile, top level)';
  for (let n = node; n !== undefined; n = parentOf.get(n.id)) if (ours(n.callFrame.url)) return partOf(n.callFrame.url, n.callFrame.functionName);
  return url === '' ? 'native / V8 (no JavaScript caller)' : 'node internals';
}

function summarise(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const selfUs = new Map();
  const deltas = profile.timeDeltas;
  const memo = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    if (!memo.has(id)) memo.set(id, chargeOf(byId.get(id), parentOf));
    const key = memo.get(id);
    const delta = deltas[i + 1] ?? 0;
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  return {total, parts: [...selfUs.entries()].sort((a, b) => b[1] - a[1])};
}

const dir = process.argv[2];
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort();
const out = {};
for (const file of files) {
  const {total, parts} = summarise(join(dir, file));
  out[file] = {total_ms: Math.round(total / 1000), parts: Object.fromEntries(parts.map(([k, v]) => [k, Math.round(v / 100) / 10]))};
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
