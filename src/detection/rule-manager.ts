// RuleManager: finds rule files (built-in pack, the user's rules directory, configured and --rules paths),
// validates them all before anything runs, applies enable/disable from configuration, loads named lists,
// and switches rules on or off in a configuration file. The rule formats' parsers (rule-format.ts: YAML
// schemas, the Sigma compiler) are imported only when a file must be parsed: a run whose rules all come
// from the build-time index or the rule cache never evaluates them (docs/performance.md, "What a detect
// run does").
import {dirname} from 'node:path';

import {userConfigPath} from '../config/paths.js';
import type {DaemonEyeConfig} from '../config/schema.js';
import {DaemonEyeError, fileError} from '../errors.js';
import type {DetectionRule, RuleSourceType} from '../models/rule.js';
import {existsSync, statSync} from '../package-files.js';
import {BUILTIN_INDEX_FILE, builtinRuleFromIndex, readBuiltinIndex} from './builtin-index.js';
import type {RuleSwitchResult} from './config-edit.js';
import {loadNamedLists, type NamedLists} from './lists.js';
import type {RuleDefinition, RuleFileValidation} from './rule-source.js';
import {RuleCache} from './rule-cache.js';
import {BUILTIN_RULES_DIR, findRuleFiles, userRulesDir} from './rule-paths.js';
import {SqlValidator} from './sql-validator.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';

export {BUILTIN_RULES_DIR, findRuleFiles, userRulesDir} from './rule-paths.js';

export interface RuleRoot {
  readonly path: string;
  readonly sourceType: RuleSourceType;
}

/** A rule ready to run: the DetectionRule model (src/models/rule.ts; enabled state after configuration) and its file's extras. */
export interface LoadedRule {
  readonly rule: DetectionRule;
  readonly definition: RuleDefinition;
}

export interface RuleSet {
  readonly rules: readonly LoadedRule[];
  readonly lists: NamedLists;
  readonly roots: readonly RuleRoot[];
  /** Built-in rule files taken from the build-time index rather than parsed (see builtin-index.ts). */
  readonly indexed: number;
}

export interface RuleManagerOptions {
  readonly config: DaemonEyeConfig;
  /** `--rules DIR|FILE` paths (source type `file`). */
  readonly extraPaths?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly validator?: SqlValidator;
  /** Where built-in rules live (tests); default `<package>/rules`. */
  readonly builtinDir?: string;
  /** The build-time index of the built-in rules (tests); default `dist/builtin-rules.json`, null: none. */
  readonly builtinIndex?: string | null;
  /** The rule cache file for the other rules (rule-cache.ts); default null: every file validated in full. */
  readonly ruleCache?: string | null;
}

export class RuleManager {
  readonly validator: SqlValidator;

  constructor(private readonly options: RuleManagerOptions) {
    this.validator = options.validator ?? new SqlValidator().withReadOnlyMode(true).withTimeout(options.config.detection.rule_timeout_ms);
  }

  /** The rule directories in load order: builtin, user, configured paths, --rules paths. */
  roots(): RuleRoot[] {
    const {detection} = this.options.config;
    const roots: RuleRoot[] = [];
    const builtin = this.options.builtinDir ?? BUILTIN_RULES_DIR;
    if (detection.builtin_rules && existsSync(builtin)) roots.push({path: builtin, sourceType: 'builtin'});
    const user = userRulesDir(this.options.env);
    if (existsSync(user)) roots.push({path: user, sourceType: 'user'});
    for (const path of [...detection.rules_paths, ...(this.options.extraPaths ?? [])]) {
      if (!existsSync(path)) {
        throw new DaemonEyeError('INPUT_NOT_FOUND', `rules path ${path} does not exist`, {file: path, hint: 'check --rules and detection.rules_paths'});
      }
      // Kept as the user gave it (relative to the working directory, like every path of this run): each file under it,
      // and so every message about one, is named the way `rules validate` names it.
      roots.push({path, sourceType: 'file'});
    }
    return roots;
  }

  /** Check one file (schema, SQL, test rows). Throws only when it cannot be read (rule-format.ts validateRuleFile). */
  async validateRuleFile(path: string): Promise<RuleFileValidation> {
    return (await import('./rule-format.js')).validateRuleFile(path, this.validator);
  }

  /** Validate every file of every root; the results in order. */
  async validateAll(): Promise<{root: RuleRoot; result: RuleFileValidation}[]> {
    const results: {root: RuleRoot; result: RuleFileValidation}[] = [];
    for (const root of this.roots()) for (const file of findRuleFiles(root.path)) results.push({root, result: await this.validateRuleFile(file)});
    return results;
  }

  /**
   * Load every rule. Any invalid file, or two files with one id, stops here (nothing runs on a half-valid
   * rule set): RULE_INVALID lists every problem line, RULE_DUPLICATE names both files.
   */
  async loadRules(): Promise<RuleSet> {
    const roots = this.roots();
    const indexPath = this.options.builtinIndex === undefined ? BUILTIN_INDEX_FILE : this.options.builtinIndex;
    const index = roots.some((r) => r.sourceType === 'builtin') && indexPath !== null ? readBuiltinIndex(indexPath) : undefined;
    let indexed = 0;
    const cache = this.options.ruleCache === undefined || this.options.ruleCache === null ? undefined : RuleCache.load(this.options.ruleCache, this.validator);
    const load = async (root: RuleRoot, file: string): Promise<RuleFileValidation> => {
      if (root.sourceType !== 'builtin' && cache === undefined) return this.validateRuleFile(file);
      let text: string;
      try {
        text = readRegularTextFile(file, FILE_LIMITS.rule);
      } catch (error) {
        throw fileError(error, file, 'read');
      }
      if (cache !== undefined && root.sourceType !== 'builtin') {
        const cached = cache.lookup(file, text);
        if (cached !== undefined) return cached;
        const result = (await import('./rule-format.js')).validateRuleText(file, text, this.validator);
        cache.remember(file, text, result);
        return result;
      }
      const fromIndex = builtinRuleFromIndex(root.path, file, text, index, this.validator);
      if (fromIndex !== undefined) indexed++;
      return fromIndex ?? (await import('./rule-format.js')).validateRuleText(file, text, this.validator);
    };
    const checked: {root: RuleRoot; result: RuleFileValidation}[] = [];
    for (const root of roots) for (const file of findRuleFiles(root.path)) checked.push({root, result: await load(root, file)});
    cache?.save();
    const invalid = checked.filter((c) => !c.result.valid);
    if (invalid.length > 0) {
      const first = invalid[0]?.result;
      throw new DaemonEyeError('RULE_INVALID', first?.problems[0] ?? `invalid rule file ${first?.file ?? ''}`, {
        file: first?.file,
        hint: `${invalid.length} invalid rule file${invalid.length > 1 ? 's' : ''}: fix them or run "daemoneye rules validate"`,
        details: invalid.flatMap((c) => c.result.problems),
      });
    }
    const byId = new Map<string, LoadedRule>();
    const {enabled_rules: enabledIds, disabled_rules: disabledIds} = this.options.config.detection;
    for (const {root, result} of checked) {
      const definition = result.rule as RuleDefinition;
      const previous = byId.get(definition.id);
      if (previous !== undefined) {
        throw new DaemonEyeError('RULE_DUPLICATE', `rule id ${definition.id} is defined twice: ${previous.definition.file} and ${definition.file}`, {
          file: definition.file,
          hint: 'rename one of the ids or drop one of the paths',
        });
      }
      const mtime = Math.round(statSync(definition.file).mtimeMs);
      const enabled = disabledIds.includes(definition.id) ? false : enabledIds.includes(definition.id) ? true : definition.enabled;
      byId.set(definition.id, {definition, rule: detectionRuleOf(definition, {enabled, sourceType: root.sourceType, timestamp: mtime})});
    }
    const lists = loadNamedLists(
      this.options.config.detection.lists,
      roots.map((r) => (statSync(r.path).isDirectory() ? r.path : dirname(r.path))),
    );
    return {rules: [...byId.values()], lists, roots, indexed};
  }

  /** The rules a run uses: the given ids (enabled or not; unknown ids are an error), else every enabled rule. */
  static select(rules: readonly LoadedRule[], ids: readonly string[]): LoadedRule[] {
    if (ids.length === 0) return rules.filter((r) => r.rule.enabled);
    const known = new Map(rules.map((r) => [r.rule.id, r]));
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length > 0) {
      throw new DaemonEyeError('RULE_NOT_FOUND', `no rule with id ${missing.join(', ')}`, {hint: 'see "daemoneye rules list"'});
    }
    return [...new Set(ids)].map((id) => known.get(id) as LoadedRule);
  }

  /** Switch a rule on in `configFile` (default: the user configuration file). */
  enableRule(id: string, configFile?: string): Promise<RuleSwitchResult> {
    return this.switchRule(id, true, configFile);
  }

  disableRule(id: string, configFile?: string): Promise<RuleSwitchResult> {
    return this.switchRule(id, false, configFile);
  }

  private async switchRule(id: string, enabled: boolean, configFile: string | undefined): Promise<RuleSwitchResult> {
    RuleManager.select((await this.loadRules()).rules, [id]);
    // The configuration editor (a YAML document's round trip) only for `rules enable|disable`.
    return (await import('./config-edit.js')).setRuleEnabled(configFile ?? userConfigPath(this.options.env), id, enabled);
  }
}

/** The DetectionRule model for a rule file's definition (timestamps: the file's mtime, or 0 when not known). */
export function detectionRuleOf(definition: RuleDefinition, options: {enabled: boolean; sourceType: RuleSourceType; timestamp: number}): DetectionRule {
  return {
    id: definition.id,
    name: definition.name,
    description: definition.description,
    version: definition.version,
    sql_query: definition.sql_query,
    enabled: options.enabled,
    severity: definition.severity,
    category: definition.category,
    tags: definition.tags,
    author: definition.author,
    created_at: options.timestamp,
    updated_at: options.timestamp,
    source_type: options.sourceType,
    source_path: definition.file,
  };
}
