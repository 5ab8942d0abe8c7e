// `config validate FILE`: one file checked on its own against the schema, every problem listed. How it
// prints is src/app/config-view.ts.
import {DaemonEyeError, isDaemonEyeError} from '../errors.js';
import {EnvironmentSubstitutor} from './env-substitutor.js';
import {readYamlFile} from './builder.js';
import {type ConfigIssue, ConfigValidator} from './validator.js';

export interface FileValidation {
  readonly file: string;
  readonly valid: boolean;
  readonly errors: readonly ConfigIssue[];
}

/**
 * Validate one configuration file. A file that cannot be opened at all throws (exit 2); anything wrong
 * inside it (YAML syntax, unknown keys, wrong types, unset `${VAR}`) is returned as errors (exit 1).
 */
export function validateConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): FileValidation {
  let parsed: ReturnType<typeof readYamlFile>;
  try {
    parsed = readYamlFile(file);
  } catch (error) {
    if (isDaemonEyeError(error) && (error.code === 'CONFIG_YAML_SYNTAX' || error.code === 'CONFIG_INVALID')) {
      // The reader's message is `FILE: problem` or `FILE:LINE:COL: problem`: file and place become fields.
      const problem = error.message.startsWith(`${file}:`) ? error.message.slice(file.length + 1).trimStart() : error.message;
      const at = /^(\d+):(\d+): /.exec(problem);
      const location = at === null ? {} : {location: `${at[1]}:${at[2]}`};
      return {file, valid: false, errors: [{path: '', message: at === null ? problem : problem.slice(at[0].length), source: file, ...location}]};
    }
    throw error;
  }
  if (parsed === undefined) throw new DaemonEyeError('CONFIG_FILE_MISSING', `configuration file ${file} does not exist`, {file});
  const substitutor = new EnvironmentSubstitutor(env);
  const errors: ConfigIssue[] = [];
  // Report every unset variable, not only the first: substitute leaf by leaf.
  const data = substituteCollecting(substitutor, parsed.data, [], file, parsed.locate, errors);
  const result = new ConfigValidator().validate(data, {sourceOf: () => file, locate: (_source, path) => parsed.locate(path)});
  errors.push(...result.errors);
  return {file, valid: errors.length === 0, errors};
}

function substituteCollecting(
  substitutor: EnvironmentSubstitutor,
  value: unknown,
  path: (string | number)[],
  file: string,
  locate: (path: readonly (string | number)[]) => string | undefined,
  errors: ConfigIssue[],
): unknown {
  if (typeof value === 'string') {
    try {
      return substitutor.substituteString(value, path);
    } catch (error) {
      const location = locate(path);
      const message = isDaemonEyeError(error) ? error.message.replace(/^.*?: /, '') : String(error);
      errors.push({path: path.join('.'), message, source: file, ...(location === undefined ? {} : {location})});
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteCollecting(substitutor, item, [...path, index], file, locate, errors));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteCollecting(substitutor, item, [...path, key], file, locate, errors);
    return out;
  }
  return value;
}
