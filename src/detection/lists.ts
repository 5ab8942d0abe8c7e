// Named lists: allow-lists, IOC hashes and tool names that rules read as `list_<name>(value)` tables, so
// users tune rules by data. Sources: `detection.lists.<name>` ({values} or {file}) and list files shipped
// beside the rules (`<rules dir>/lists/<name>.txt`); all sources of a name are merged.
import {basename, join} from 'node:path';

import {DaemonEyeError, fileError} from '../errors.js';
import {existsSync, readdirSync} from '../package-files.js';
import {FILE_LIMITS, MAX_LIST_ENTRIES, readRegularTextFile} from '../util/read-file.js';

export type NamedLists = Record<string, string[]>;

export const LIST_NAME = /^[a-z0-9_]+$/;
export const LIST_DIR = 'lists';
export const LIST_FILE_EXTENSION = '.txt';

/** One value per line; blank lines and lines starting with `#` are skipped; values are trimmed. */
export function parseListText(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

export function readListFile(file: string): string[] {
  try {
    return parseListText(readRegularTextFile(file, FILE_LIMITS.list));
  } catch (error) {
    throw fileError(error, file, 'read');
  }
}

/**
 * Merge `values` into the list `name`, first occurrence kept. `source` names where they came from (a list
 * file's path, or the configuration key): a list past MAX_LIST_ENTRIES distinct values is refused there
 * (DaemonEyeError, exit 2).
 */
function add(lists: NamedLists, name: string, values: readonly string[], source: {file: string} | {key: string}): void {
  const current = lists[name] ?? [];
  const seen = new Set(current);
  for (const value of values) {
    if (!seen.has(value)) {
      seen.add(value);
      current.push(value);
    }
  }
  if (current.length > MAX_LIST_ENTRIES) {
    const where = 'file' in source ? source.file : source.key;
    throw new DaemonEyeError(
      'file' in source ? 'RULE_INVALID' : 'CONFIG_INVALID',
      `${where}: the named list ${name} holds ${current.length} values; at most ${MAX_LIST_ENTRIES} are read`,
      {...('file' in source ? {file: source.file} : {}), hint: 'split it, or match a pattern (GLOB) instead of listing every value'},
    );
  }
  lists[name] = current;
}

/** Every list: files in `<dir>/lists/` of each rules directory, then the configured lists. */
export function loadNamedLists(
  configured: Readonly<Record<string, {values?: string[] | undefined; file?: string | undefined}>>,
  ruleDirs: readonly string[],
): NamedLists {
  const lists: NamedLists = {};
  for (const dir of ruleDirs) {
    const listDir = join(dir, LIST_DIR);
    if (!existsSync(listDir)) continue;
    for (const entry of readdirSync(listDir).sort()) {
      if (!entry.endsWith(LIST_FILE_EXTENSION) || entry.startsWith('.')) continue;
      const name = basename(entry, LIST_FILE_EXTENSION);
      if (!LIST_NAME.test(name)) {
        throw new DaemonEyeError('RULE_INVALID', `${join(listDir, entry)}: list names are lower-case letters, digits and _`, {
          file: join(listDir, entry),
          hint: 'rename the file',
        });
      }
      add(lists, name, readListFile(join(listDir, entry)), {file: join(listDir, entry)});
    }
  }
  for (const [name, list] of Object.entries(configured)) {
    if (list.values !== undefined) add(lists, name, list.values, {key: `detection.lists.${name}.values`});
    if (list.file !== undefined) add(lists, name, readListFile(list.file), {file: list.file});
  }
  return lists;
}

/** The lists a run needs: every defined list, plus an empty one for each referenced but undefined name. */
export function listsForRun(defined: NamedLists, referenced: Iterable<string>): NamedLists {
  const lists: NamedLists = {...defined};
  for (const name of referenced) lists[name] ??= [];
  return lists;
}
