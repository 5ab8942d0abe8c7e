// The tool's version, read once from package.json (wherever the code runs from: src/ or dist/src/).
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';

function findPackageJson(start: string): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as {name?: string};
      if (pkg.name === 'daemoneye') return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json of daemoneye not found');
    dir = parent;
  }
}

export const PACKAGE_ROOT = dirname(findPackageJson(import.meta.dirname));
export const TOOL_VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {version: string}).version;
