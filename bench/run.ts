// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) in turn.
import {readdirSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

const only = process.argv.slice(2);
const files = readdirSync(import.meta.dirname)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => only.length === 0 || only.some((o) => name.startsWith(o)))
  .sort();
for (const name of files) {
  const module = (await import(pathToFileURL(join(import.meta.dirname, name)).href)) as {run: () => void | Promise<void>};
  await module.run();
}
