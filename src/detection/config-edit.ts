// `rules enable|disable`: switch a rule in `detection.enabled_rules` / `detection.disabled_rules` of one
// configuration file, editing the YAML document in place so its comments and layout survive, atomically.
// The file is the user's (src/util/output-file.ts): a symbolic link is followed once (if it is this user's
// or root's) and the file it points to is replaced, keeping its mode, owner and group and the link itself;
// anything but a regular file is refused.
import {dirname} from 'node:path';

import type {YAMLMap, YAMLSeq} from 'yaml';

import {DaemonEyeError, fileError} from '../errors.js';
import {TERMINAL_TEXT} from '../output/terminal.js';
import {settleRun} from '../util/interrupt.js';
import {resolveOutput, writeOutputFile} from '../util/output-file.js';
import {yaml, yamlDepthProblem} from '../util/yaml.js';
import {makeDirectory} from '../util/directory.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';

export interface RuleSwitchResult {
  readonly file: string;
  readonly rule_id: string;
  readonly enabled: boolean;
  /** False when the file already said so. */
  readonly changed: boolean;
  readonly created: boolean;
  /** The file really read and written: `file`, or the file a symbolic link at `file` points to. */
  readonly written: string;
}

function sequenceAt(detection: YAMLMap, key: string, file: string): YAMLSeq {
  const node = detection.get(key, true);
  if (node === undefined || node === null) {
    const seq = new (yaml().YAMLSeq)();
    detection.set(key, seq);
    return seq;
  }
  if (!yaml().isSeq(node)) throw new DaemonEyeError('CONFIG_INVALID', `${file}: detection.${key} must be a list of rule ids`, {file});
  return node as YAMLSeq;
}

const values = (seq: YAMLSeq): unknown[] => seq.items.map((item) => (item as {value?: unknown} | null)?.value ?? item);

/** Add `id` to one list and remove it from the other, in `file` (created, with its directory, when missing). */
export function setRuleEnabled(file: string, id: string, enabled: boolean): RuleSwitchResult {
  const what = 'configuration file';
  const target = resolveOutput(file, {kinds: ['new', 'file'], what});
  const created = target.kind === 'new';
  let text = '';
  if (!created) {
    try {
      text = readRegularTextFile(target.path, FILE_LIMITS.configuration);
    } catch (error) {
      throw fileError(error, file, 'read');
    }
  }
  const deep = yamlDepthProblem(text);
  if (deep !== undefined)
    throw new DaemonEyeError('CONFIG_YAML_SYNTAX', `${file}:${deep.line}:${deep.col}: invalid YAML: ${deep.message}`, {file, hint: 'fix the file first'});
  const doc = yaml().parseDocument(text);
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new DaemonEyeError('CONFIG_YAML_SYNTAX', `${file}: invalid YAML: ${first.message.split('\n')[0] ?? ''}`, {file, hint: 'fix the file first'});
  }
  if (doc.contents === null || doc.contents === undefined) doc.contents = new (yaml().YAMLMap)() as never;
  if (!yaml().isMap(doc.contents)) throw new DaemonEyeError('CONFIG_INVALID', `${file}: the top level must be a mapping`, {file});
  const top = doc.contents as unknown as YAMLMap<unknown, unknown>;
  let detection: unknown = top.get('detection', true);
  if (detection === undefined || detection === null) {
    detection = new (yaml().YAMLMap)();
    top.set('detection', detection);
  }
  if (!yaml().isMap(detection)) throw new DaemonEyeError('CONFIG_INVALID', `${file}: detection must be a mapping`, {file});
  const add = sequenceAt(detection as YAMLMap, enabled ? 'enabled_rules' : 'disabled_rules', file);
  const remove = sequenceAt(detection as YAMLMap, enabled ? 'disabled_rules' : 'enabled_rules', file);
  let changed = false;
  if (!values(add).includes(id)) {
    add.add(id);
    changed = true;
  }
  const index = values(remove).indexOf(id);
  if (index >= 0) {
    remove.delete(index);
    changed = true;
  }
  if (remove.items.length === 0) (detection as YAMLMap).delete(enabled ? 'disabled_rules' : 'enabled_rules');
  if (changed || created) {
    try {
      makeDirectory(dirname(file), 0o700);
    } catch (error) {
      throw fileError(error, dirname(file), 'create');
    }
    // Resolved again as it is written: what it points to is the file replaced, never the link.
    writeOutputFile(file, doc.toString(), {content: TERMINAL_TEXT, mode: 0o600, keepOwnership: true, kinds: ['new', 'file'], what});
    // The edited file is the run's product: a signal from now on is let pass (src/util/interrupt.ts).
    settleRun();
  }
  return {file, rule_id: id, enabled, changed, created, written: target.path};
}
