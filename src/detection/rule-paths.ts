// Where rule files are: the built-in pack, the user's rules directory, and the rule files under a path.
import {dirname, extname, join} from 'node:path';

import {userConfigPath} from '../config/paths.js';
import {fileError} from '../errors.js';
import {PACKAGE_ROOT, readdirSync, statSync} from '../package-files.js';
import {TEMP_PREFIX} from '../util/atomic-write.js';
import {LIST_DIR} from './lists.js';

export const BUILTIN_RULES_DIR = join(PACKAGE_ROOT, 'rules');

/** The extensions of rule files, in every format (rule-format.ts tells the formats apart by content). */
export const RULE_FILE_EXTENSIONS = ['.yaml', '.yml', '.sql'] as const;

/** `<user config dir>/rules`, e.g. `~/.config/daemoneye/rules`: rules of source type `user`. */
export function userRulesDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(userConfigPath(env)), 'rules');
}

/**
 * Rule files under a directory, recursively, sorted; the `lists/` folder, dot and temp files skipped. A path that
 * is not a directory is itself the one rule file: its reader refuses anything but a regular file (a FIFO, a
 * device) in one line, as it does for one found in a directory.
 */
export function findRuleFiles(path: string): string[] {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw fileError(error, path, 'read');
  }
  if (!stats.isDirectory()) return [path];
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name.startsWith(TEMP_PREFIX)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== LIST_DIR) walk(full);
      } else if ((RULE_FILE_EXTENSIONS as readonly string[]).includes(extname(entry.name))) {
        files.push(full);
      }
    }
  };
  walk(path);
  return files;
}
