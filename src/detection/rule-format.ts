// The rule-format seam: every rule format DaemonEye reads implements RuleFormat, and everything that reads
// rule files (rules list/validate/test/enable/disable, detect, the build-time index, docs generation) goes
// through validateRuleText / validateRuleFile here, so a new format is one more entry in RULE_FORMATS.
// A file's format is decided by its content, not its extension.
import {fileError} from '../errors.js';
import {validateNativeRuleText} from './rule-file.js';
import type {RuleFileValidation} from './rule-source.js';
import {looksLikeSigma, validateSigmaRuleText} from './sigma/format.js';
import {SqlValidator} from './sql-validator.js';
import {FILE_LIMITS, readRegularTextFile} from '../util/read-file.js';

/** The rule formats DaemonEye reads: the names of RULE_FORMATS (a new format adds its name here and its entry below). */
export type RuleFormatName = 'daemoneye' | 'sigma';

export interface RuleFormat {
  readonly name: RuleFormatName;
  /** One line for `rules list` and the docs. */
  readonly description: string;
  /** Whether this format reads a file with this name and text (cheap: no full parse). */
  recognises(file: string, text: string): boolean;
  /** Parse and check the file: one `file:line:col: key: problem` line per problem; never throws for bad content. */
  validate(file: string, text: string, validator: SqlValidator): RuleFileValidation;
}

export const SIGMA_FORMAT = {
  name: 'sigma',
  description: 'Sigma rule (logsource product linux, category process_creation), compiled to SQL (docs/sigma.md)',
  recognises: (file, text) => !file.endsWith('.sql') && looksLikeSigma(text),
  validate: validateSigmaRuleText,
} satisfies RuleFormat;

export const NATIVE_FORMAT = {
  name: 'daemoneye',
  description: 'DaemonEye rule: YAML with sql_query, or .sql with YAML front matter (docs/rules-format.md)',
  recognises: () => true,
  validate: validateNativeRuleText,
} satisfies RuleFormat;

/** In the order they are tried: the first that recognises a file reads it (the native format takes the rest). */
export const RULE_FORMATS: readonly RuleFormat[] = [SIGMA_FORMAT, NATIVE_FORMAT];

// Every RuleFormatName has its format (a name without one, or a format under another's name, does not compile).
({sigma: SIGMA_FORMAT, daemoneye: NATIVE_FORMAT}) satisfies {readonly [N in RuleFormatName]: RuleFormat & {readonly name: N}};

/** The format that reads this file. */
export function ruleFormatOf(file: string, text: string): RuleFormat {
  return RULE_FORMATS.find((format) => format.recognises(file, text)) ?? NATIVE_FORMAT;
}

/** Parse and check one rule file's text in its format. Never throws for bad content. */
export function validateRuleText(file: string, text: string, validator: SqlValidator = new SqlValidator()): RuleFileValidation {
  return ruleFormatOf(file, text).validate(file, text, validator);
}

/** Read, parse and check one rule file in its format. Throws only when it cannot be read. */
export function validateRuleFile(file: string, validator: SqlValidator = new SqlValidator()): RuleFileValidation {
  let text: string;
  try {
    text = readRegularTextFile(file, FILE_LIMITS.rule);
  } catch (error) {
    throw fileError(error, file, 'read');
  }
  return validateRuleText(file, text, validator);
}
