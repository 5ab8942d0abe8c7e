// Preloaded into a CLI run by a test (NODE_OPTIONS=--import): every WebAssembly compile or instantiation
// appends one line to $WASM_PROBE_LOG naming the thread that did it (`main` or `worker`), so a
// test can tell which threads started sql.js. It changes nothing else.
import {appendFileSync} from 'node:fs';
import {isMainThread} from 'node:worker_threads';

const file = process.env.WASM_PROBE_LOG;
if (file !== undefined) {
  const note = (what) => appendFileSync(file, `${isMainThread ? 'main' : 'worker'} ${what}\n`);
  for (const name of ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming']) {
    const original = WebAssembly[name];
    WebAssembly[name] = function (...args) {
      note(name);
      return original.apply(this, args);
    };
  }
  for (const name of ['Module', 'Instance']) {
    WebAssembly[name] = new Proxy(WebAssembly[name], {
      construct(target, args, newTarget) {
        note(name);
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
}
