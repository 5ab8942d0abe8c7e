// The Sigma modifier registry: one entry per modifier of the specification's modifiers appendix (Sigma rules
// specification v2), saying what it does to a field condition — which matcher it selects (regex, numeric
// comparison, CIDR, …), which field types it applies to, how it transforms a value pattern — or why this
// compiler refuses it. The compiler (compile.ts) reads only this table: adding a modifier is one entry here
// (and its rendering in compile.ts when it selects a new matcher). Rendering SQL is sql.ts.
import type {SigmaFieldType} from './fields.js';
import {base64, base64Offsets, hasWildcards, type Pattern, type Piece, plainText, windash} from './pattern.js';

/**
 * How a field condition is matched. `pattern`: the value as a (case-folded) wildcard pattern, the default;
 * the others are selected by one modifier each: `exists` (present or not), `compare` (lt, lte, gt, gte on
 * numbers), `regex` (re), `fieldref` (another field of the same event), `cidr` (an address in a network).
 */
export type SigmaMatcher = 'pattern' | 'exists' | 'compare' | 'regex' | 'fieldref' | 'cidr';

/** A modifier this compiler implements. */
export interface SigmaModifierEntry {
  readonly name: string;
  /** What it does, for docs/sigma.md readers of the code. */
  readonly role: 'matcher' | 'position' | 'transform' | 'flag' | 'case' | 'list' | 'negation';
  /** The matcher it selects (role `matcher`), or the matchers it may modify. */
  readonly matcher?: SigmaMatcher;
  readonly with?: readonly SigmaMatcher[];
  /** The field types it applies to. */
  readonly fields: readonly SigmaFieldType[];
  /** `position`: where the wildcards go. */
  readonly position?: 'contains' | 'startswith' | 'endswith';
  /**
   * `transform`: one value pattern to its alternatives (OR), in the order the modifiers are written. Throws
   * a SigmaModifierError for a value it cannot transform.
   */
  readonly transform?: (pattern: Pattern) => Pattern[];
}

/** A modifier of the specification this compiler refuses, and why. */
export interface RefusedModifier {
  readonly name: string;
  readonly refused: string;
}

export type SigmaModifier = SigmaModifierEntry | RefusedModifier;

/** A value a transform cannot take; the compiler adds the YAML path. */
export class SigmaModifierError extends Error {}

const TEXT: readonly SigmaFieldType[] = ['text', 'ip'];
const ANY: readonly SigmaFieldType[] = ['text', 'ip', 'integer'];

const encode =
  (name: string, encoder: (text: string) => string[]) =>
  (pattern: Pattern): Pattern[] => {
    if (hasWildcards(pattern)) throw new SigmaModifierError(`modifier ${name} cannot encode a value with wildcards (* or ?)`);
    return encoder(plainText(pattern)).map((text): Pattern => [{kind: 'text', text}]);
  };

const NOT_UTF16 = 'process command lines are never UTF-16';
const NO_TIME = 'time modifiers need event timestamps a snapshot field does not hold';

/** Every modifier of the specification, by name. */
export const SIGMA_MODIFIERS: readonly SigmaModifier[] = [
  {name: 'contains', role: 'position', position: 'contains', with: ['pattern', 'fieldref'], fields: TEXT},
  {name: 'startswith', role: 'position', position: 'startswith', with: ['pattern', 'fieldref'], fields: TEXT},
  {name: 'endswith', role: 'position', position: 'endswith', with: ['pattern', 'fieldref'], fields: TEXT},
  {name: 'all', role: 'list', with: ['pattern', 'compare', 'regex', 'fieldref', 'cidr'], fields: ANY},
  {name: 'cased', role: 'case', with: ['pattern', 'fieldref'], fields: TEXT},
  {name: 'neq', role: 'negation', with: ['pattern', 'compare', 'fieldref', 'cidr'], fields: ANY},
  {name: 'windash', role: 'transform', with: ['pattern'], fields: TEXT, transform: (pattern) => [windash(pattern)]},
  {name: 'base64', role: 'transform', with: ['pattern'], fields: TEXT, transform: encode('base64', (t) => [base64(Buffer.from(t, 'utf8'))])},
  {name: 'base64offset', role: 'transform', with: ['pattern'], fields: TEXT, transform: encode('base64offset', base64Offsets)},
  {name: 're', role: 'matcher', matcher: 'regex', fields: TEXT},
  {name: 'i', role: 'flag', with: ['regex'], fields: TEXT},
  {name: 'm', role: 'flag', with: ['regex'], fields: TEXT},
  {name: 's', role: 'flag', with: ['regex'], fields: TEXT},
  {name: 'exists', role: 'matcher', matcher: 'exists', fields: ANY},
  {name: 'fieldref', role: 'matcher', matcher: 'fieldref', fields: TEXT},
  {name: 'cidr', role: 'matcher', matcher: 'cidr', fields: ['ip']},
  {name: 'lt', role: 'matcher', matcher: 'compare', fields: ['integer']},
  {name: 'lte', role: 'matcher', matcher: 'compare', fields: ['integer']},
  {name: 'gt', role: 'matcher', matcher: 'compare', fields: ['integer']},
  {name: 'gte', role: 'matcher', matcher: 'compare', fields: ['integer']},
  {name: 'utf16le', refused: NOT_UTF16},
  {name: 'utf16be', refused: NOT_UTF16},
  {name: 'utf16', refused: NOT_UTF16},
  {name: 'wide', refused: NOT_UTF16},
  {name: 'expand', refused: 'placeholders need a value list: match the field against a named list in a DaemonEye rule instead'},
  ...['minute', 'hour', 'day', 'week', 'month', 'year'].map((name) => ({name, refused: NO_TIME})),
];

const BY_NAME: ReadonlyMap<string, SigmaModifier> = new Map(SIGMA_MODIFIERS.map((m) => [m.name, m]));

/** The registry's entry for a modifier name, or undefined for a name the specification does not have. */
export const sigmaModifier = (name: string): SigmaModifier | undefined => BY_NAME.get(name);

export const isRefused = (modifier: SigmaModifier): modifier is RefusedModifier => 'refused' in modifier;

/** Wildcards around, after or before a pattern for a position modifier (none doubled). */
export function place(pattern: Pattern, position: SigmaModifierEntry['position']): Pattern {
  const star: Piece = {kind: 'star'};
  const startsWithStar = pattern[0]?.kind === 'star';
  const endsWithStar = pattern[pattern.length - 1]?.kind === 'star';
  if (position === 'contains') return [...(startsWithStar ? [] : [star]), ...pattern, ...(endsWithStar ? [] : [star])];
  if (position === 'startswith') return [...pattern, ...(endsWithStar ? [] : [star])];
  if (position === 'endswith') return [...(startsWithStar ? [] : [star]), ...pattern];
  return pattern;
}
