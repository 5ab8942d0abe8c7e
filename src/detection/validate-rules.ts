// `rules validate` as a library call (health's rule check uses it too): every rule file the configuration
// loads, or the files and directories given, checked on its own; duplicate ids are problems too.
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError} from '../errors.js';
import {findRuleFiles, RuleManager} from './rule-manager.js';
import type {SqlValidationError} from './sql-validator.js';
import {TimeSlicer} from '../util/interrupt.js';

export interface RulesOptions {
  readonly config: DaemonEyeConfig;
  readonly env?: NodeJS.ProcessEnv;
  readonly rulesPaths?: readonly string[];
}

/** The RuleManager of a `rules` call: the configuration's rules plus `--rules` paths. */
export const ruleManagerFor = (options: RulesOptions): RuleManager =>
  new RuleManager({config: options.config, extraPaths: options.rulesPaths ?? [], ...(options.env === undefined ? {} : {env: options.env})});

export interface RuleFileReport {
  readonly file: string;
  readonly valid: boolean;
  readonly problems: readonly string[];
  readonly sql_errors: readonly SqlValidationError[];
}

export interface RulesValidation {
  readonly valid: boolean;
  readonly files: readonly RuleFileReport[];
}

/**
 * Validate the given files/directories, or every rule the configuration loads; duplicate ids are problems too. A
 * file at a time, the event loop given a turn between files once a slice has run (a directory of any number of
 * rules: a signal ends the run at once, src/util/interrupt.ts).
 */
export async function validateRules(options: RulesOptions, paths: readonly string[]): Promise<RulesValidation> {
  const rm = ruleManagerFor(options);
  const files = paths.length > 0 ? paths.flatMap((p) => ruleFilesIn(p)) : rm.roots().flatMap((root) => findRuleFiles(root.path));
  if (files.length === 0) {
    throw new DaemonEyeError('INPUT_NOT_FOUND', 'no rule files to validate: the configuration loads none', {
      hint: 'give a rules directory, or check detection.builtin_rules and detection.rules_paths',
    });
  }
  const seen = new Map<string, string>();
  const slicer = new TimeSlicer();
  const reports: RuleFileReport[] = [];
  for (const file of files) {
    await slicer.tick();
    const result = await rm.validateRuleFile(file);
    const problems = [...result.problems];
    if (result.rule !== undefined) {
      const other = seen.get(result.rule.id);
      if (other !== undefined) problems.push(`${file}: id: rule id ${result.rule.id} is also defined in ${other}`);
      else seen.set(result.rule.id, file);
    }
    reports.push({file, valid: problems.length === 0, problems, sql_errors: result.sqlErrors});
  }
  return {valid: reports.every((r) => r.valid), files: reports};
}

/**
 * The rule files of a path the user named: a file, or every rule file under a directory. A directory with
 * none is refused (INPUT_NOT_FOUND, exit 2): checking nothing must not pass in CI.
 */
export function ruleFilesIn(path: string): string[] {
  const files = findRuleFiles(path);
  if (files.length === 0) {
    throw new DaemonEyeError('INPUT_NOT_FOUND', `${path} holds no rule files (*.yaml, *.yml, *.sql)`, {
      file: path,
      hint: 'check the path; rules are one YAML (or SQL with front matter) file each',
    });
  }
  return files;
}
