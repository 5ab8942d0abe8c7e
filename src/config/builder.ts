// ConfigBuilder and Config: layered configuration (defaults < the single executable's defaults < system file < user file < --config <
// environment < command-line flags), with the layer that set each key remembered for `config show`.
import {statSync} from 'node:fs';

import type * as Yaml from 'yaml';

import {DaemonEyeError, isDaemonEyeError, systemErrorCode} from '../errors.js';
import {IS_SINGLE_EXECUTABLE} from '../package-files.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';
import {documentToJs, yaml, yamlDepthProblem, yamlProblems} from '../util/yaml.js';
import {EnvironmentSubstitutor} from './env-substitutor.js';
import {type StatePaths, statePaths, SYSTEM_CONFIG_PATH, userConfigPath} from './paths.js';
import {type DaemonEyeConfig, embeddedDefaults} from './schema.js';
import {type ConfigIssue, ConfigValidator, formatIssue} from './validator.js';

/** CONFIG_INVALID with every problem as a structured issue (key path, source, location), for `config validate`. */
export class ConfigInvalidError extends DaemonEyeError {
  constructor(
    readonly issues: readonly ConfigIssue[],
    message: string,
    options: ConstructorParameters<typeof DaemonEyeError>[2],
  ) {
    super('CONFIG_INVALID', message, options);
  }
}

export const ENV_PREFIX = 'DAEMONEYE_';
export const DEFAULT_SOURCE = 'default';
export const SINGLE_EXECUTABLE_SOURCE = 'single executable';

/**
 * What the single executable changes of the defaults: everything the tool would write on its own into its
 * state directory (the audit ledger, the executable-hash cache, the rule cache) is off, since on a suspect
 * host every write is evidence overwritten. A configuration file, DAEMONEYE_* variable or flag turns any of
 * them back on (docs/single-executable.md).
 */
export const SINGLE_EXECUTABLE_DEFAULTS = {
  audit: {enabled: false},
  collection: {hash_cache: false},
  detection: {rule_cache: false},
} as const;

type Path = readonly (string | number)[];

interface Layer {
  readonly label: string;
  readonly data: Record<string, unknown>;
  /** For file layers: locate a key path as `line:column`. */
  readonly locate?: (path: Path) => string | undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars replace. */
function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isPlainObject(existing) && isPlainObject(value)) mergeInto(existing, value);
    else target[key] = isPlainObject(value) ? structuredClone(value) : value;
  }
}

function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([key, item]) => leafPaths(item, [...prefix, key]));
  }
  return [prefix];
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  path.forEach((segment, index) => {
    if (index === path.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (!isPlainObject(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  });
}

/** Whether `file` can be looked at (stat) by this process: false when a directory on its path may not be entered. */
function visible(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Parse a YAML file into a mapping, with `line:column` errors naming the file. */
export function readYamlFile(
  file: string,
  options: {optional?: boolean} = {},
): {data: Record<string, unknown>; locate: (path: Path) => string | undefined} | undefined {
  let text: string;
  try {
    text = readRegularTextFile(file, FILE_LIMITS.configuration);
  } catch (error) {
    if (isDaemonEyeError(error)) throw error;
    const code = systemErrorCode(error);
    if (code === 'ENOENT' && options.optional === true) return undefined;
    // An optional layer behind a directory this user may not enter (HOME still /root under setpriv or sudo -u):
    // the file cannot even be looked at, so it is not this user's configuration. A file that exists but
    // cannot be read is still an error: silently ignoring it would run with the wrong settings.
    if ((code === 'EACCES' || code === 'EPERM') && options.optional === true && !visible(file)) return undefined;
    if (code === 'ENOENT') {
      throw new DaemonEyeError('CONFIG_FILE_MISSING', `configuration file ${file} does not exist`, {file, hint: 'check the --config path'});
    }
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String((error as Error).message);
    throw new DaemonEyeError('CONFIG_FILE_UNREADABLE', `cannot read configuration file ${file}: ${reason}`, {
      file,
      hint: 'fix its permissions or point --config elsewhere',
      cause: error,
    });
  }
  return parseYamlConfig(text, file);
}

export function parseYamlConfig(text: string, file: string): {data: Record<string, unknown>; locate: (path: Path) => string | undefined} {
  const {LineCounter, parseDocument} = yaml();
  const deep = yamlDepthProblem(text);
  if (deep !== undefined) {
    throw new DaemonEyeError('CONFIG_YAML_SYNTAX', `${file}:${deep.line}:${deep.col}: invalid YAML: ${deep.message}`, {
      file,
      hint: 'write the settings out flat, as docs/configuration.md shows',
    });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true});
  const [first] = yamlProblems(text, doc.errors, lineCounter);
  if (first !== undefined) {
    throw new DaemonEyeError('CONFIG_YAML_SYNTAX', `${file}:${first.line}:${first.col}: invalid YAML: ${first.message}`, {
      file,
      hint: 'fix the YAML syntax at that line',
    });
  }
  const locate = (path: Path): string | undefined => locateIn(doc, lineCounter, path);
  const converted = documentToJs(doc, lineCounter);
  if ('problem' in converted) {
    const {line, col, message} = converted.problem;
    throw new DaemonEyeError('CONFIG_YAML_SYNTAX', `${file}:${line}:${col}: invalid YAML: ${message}`, {file, hint: 'fix the YAML at that line'});
  }
  const value = converted.value;
  if (value === null || value === undefined) return {data: {}, locate};
  if (!isPlainObject(value)) {
    throw new DaemonEyeError(
      'CONFIG_INVALID',
      `${file}: the top level must be a mapping of keys (app:, detection:, …), got ${Array.isArray(value) ? 'a list' : typeof value}`,
      {file},
    );
  }
  return {data: value, locate};
}

function locateIn(doc: Yaml.Document, lineCounter: Yaml.LineCounter, path: Path): string | undefined {
  const {isMap, isSeq} = yaml();
  for (let length = path.length; length > 0; length--) {
    const prefix = path.slice(0, length);
    const parent = length === 1 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
    const last = prefix[prefix.length - 1];
    let offset: number | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => (item.key as {value?: unknown} | null)?.value === last);
      offset = (pair?.key as {range?: [number, number, number]} | null)?.range?.[0];
    } else if (isSeq(parent) && typeof last === 'number') {
      offset = (parent.items[last] as {range?: [number, number, number]} | undefined)?.range?.[0];
    }
    if (offset !== undefined) {
      const pos = lineCounter.linePos(offset);
      return `${pos.line}:${pos.col}`;
    }
  }
  return undefined;
}

export class Config {
  constructor(
    readonly values: DaemonEyeConfig,
    private readonly sources: ReadonlyMap<string, string>,
    /** The files that were read, lowest layer first. */
    readonly files: readonly string[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The value at a dotted path (`app.log_level`); an unknown path is an error. */
  get<T = unknown>(path: string): T {
    let node: unknown = this.values;
    for (const segment of path.split('.')) {
      if (!isPlainObject(node) && !Array.isArray(node)) {
        throw new DaemonEyeError('CONFIG_KEY_UNKNOWN', `no configuration key ${path}`);
      }
      if (!(segment in node)) throw new DaemonEyeError('CONFIG_KEY_UNKNOWN', `no configuration key ${path}`);
      node = (node as Record<string, unknown>)[segment];
    }
    return node as T;
  }

  /** The layer that set a dotted path (the longest set prefix), `default` when none did. */
  sourceOf(path: string): string {
    const segments = path.split('.');
    for (let length = segments.length; length > 0; length--) {
      const source = this.sources.get(segments.slice(0, length).join('.'));
      if (source !== undefined) return source;
    }
    return DEFAULT_SOURCE;
  }

  /** Resolved state directory and the paths under it. */
  get paths(): StatePaths {
    return statePaths(this.values, this.env);
  }
}

export class ConfigBuilder {
  private readonly layers: Layer[] = [];
  private readonly files: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  addEmbeddedDefaults(): this {
    this.layers.push({label: DEFAULT_SOURCE, data: embeddedDefaults() as unknown as Record<string, unknown>});
    return this;
  }

  /**
   * The single executable's defaults (SINGLE_EXECUTABLE_DEFAULTS), above the embedded ones: a responder's
   * binary writes nothing on the host on its own. No layer when running from the npm install.
   */
  addSingleExecutableDefaults(): this {
    if (IS_SINGLE_EXECUTABLE) this.layers.push({label: SINGLE_EXECUTABLE_SOURCE, data: structuredClone(SINGLE_EXECUTABLE_DEFAULTS) as Record<string, unknown>});
    return this;
  }

  /** A YAML file; `optional` files may be missing, but never unreadable or malformed. */
  addFile(file: string, options: {optional?: boolean} = {}): this {
    const parsed = readYamlFile(file, options);
    if (parsed === undefined) return this;
    const substitutor = new EnvironmentSubstitutor(this.env);
    const data = substitutor.substitute(parsed.data, {file, locate: parsed.locate});
    this.layers.push({label: file, data, locate: parsed.locate});
    this.files.push(file);
    return this;
  }

  /** `DAEMONEYE_APP__LOG_LEVEL=debug` sets `app.log_level`; values are read as YAML scalars. */
  addEnvironment(prefix: string = ENV_PREFIX): this {
    const upper = prefix.toUpperCase();
    for (const [name, raw] of Object.entries(this.env).sort(([a], [b]) => a.localeCompare(b))) {
      if (raw === undefined || !name.toUpperCase().startsWith(upper) || name.length === upper.length) continue;
      const path = name.slice(upper.length).toLowerCase().split('__');
      let value: unknown = raw;
      try {
        // An environment value is YAML too, so it has the same bounds as a file: nesting and aliases.
        // (An alias inside the value it names would make a value that contains itself: documentToJs refuses it.)
        const counter = new (yaml().LineCounter)();
        const parsed = yamlDepthProblem(raw) === undefined ? yaml().parseDocument(raw, {lineCounter: counter}) : undefined;
        const converted = parsed !== undefined && parsed.errors.length === 0 ? documentToJs(parsed, counter) : undefined;
        if (converted !== undefined && 'value' in converted) value = converted.value;
      } catch {
        value = raw;
      }
      const data: Record<string, unknown> = {};
      setPath(data, path, value);
      this.layers.push({label: `env ${name}`, data});
    }
    return this;
  }

  /** Command-line flags as dotted paths (`{"app.log_level": "debug"}`); undefined values are skipped. */
  addCliArgs(args: Readonly<Record<string, unknown>>, label = 'command line'): this {
    const data: Record<string, unknown> = {};
    for (const [path, value] of Object.entries(args)) {
      if (value !== undefined) setPath(data, path.split('.'), value);
    }
    if (Object.keys(data).length > 0) this.layers.push({label, data});
    return this;
  }

  build(): Config {
    const merged: Record<string, unknown> = {};
    const sources = new Map<string, string>();
    for (const layer of this.layers) {
      mergeInto(merged, structuredClone(layer.data));
      for (const path of leafPaths(layer.data)) {
        const key = path.join('.');
        // A key set again replaces what a lower layer set below it.
        for (const existing of [...sources.keys()]) if (existing.startsWith(`${key}.`)) sources.delete(existing);
        sources.set(key, layer.label);
      }
    }
    const result = new ConfigValidator().validate(merged, {
      sourceOf: (path) => {
        for (let length = path.length; length > 0; length--) {
          const source = sources.get(path.slice(0, length).join('.'));
          if (source !== undefined) return source;
        }
        return undefined;
      },
      locate: (source, path) => this.layers.find((layer) => layer.label === source)?.locate?.(path),
    });
    if (!result.valid || result.config === undefined) {
      const lines = result.errors.map(formatIssue);
      const first = result.errors[0];
      const count = lines.length === 1 ? '' : ` (and ${lines.length - 1} more)`;
      throw new ConfigInvalidError(result.errors, `invalid configuration: ${lines[0] ?? 'unknown problem'}${count}`, {
        ...(first?.source !== undefined && !first.source.startsWith('env ') && first.source !== 'command line' && first.source !== DEFAULT_SOURCE
          ? {file: first.source}
          : {}),
        hint: 'run `daemoneye config validate` to list every problem',
        details: lines,
      });
    }
    return new Config(result.config, sources, [...this.files], this.env);
  }
}

export interface LoadConfigOptions {
  /** `--config FILE`: must exist. */
  readonly configFile?: string | undefined;
  /** Flag values as dotted configuration paths. */
  readonly cliArgs?: Readonly<Record<string, unknown>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Override the system file (tests); null skips it. */
  readonly systemConfigPath?: string | null;
  /** Override the user file (tests); null skips it. */
  readonly userConfigPath?: string | null;
}

/** The standard layering every command uses. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const builder = new ConfigBuilder(env).addEmbeddedDefaults().addSingleExecutableDefaults();
  const system = options.systemConfigPath === undefined ? SYSTEM_CONFIG_PATH : options.systemConfigPath;
  if (system !== null) builder.addFile(system, {optional: true});
  const user = options.userConfigPath === undefined ? userConfigPath(env) : options.userConfigPath;
  if (user !== null) builder.addFile(user, {optional: true});
  if (options.configFile !== undefined) builder.addFile(options.configFile);
  builder.addEnvironment(ENV_PREFIX);
  if (options.cliArgs !== undefined) builder.addCliArgs(options.cliArgs);
  return builder.build();
}
