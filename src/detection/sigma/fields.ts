// The Sigma field mapping for logsource product linux, category process_creation: which column of the
// snapshot's `processes` table each Sigma field reads. Data only; docs/sigma.md documents it. A field not in
// this table refuses the rule by name (never silently matching nothing).

/** `process`: the process row itself; `parent`: the row of its parent (same scan, LEFT JOIN on ppid). */
export type SigmaRow = 'process' | 'parent';

export interface SigmaFieldMapping {
  readonly row: SigmaRow;
  /** A column of the `processes` table. */
  readonly column: string;
  /** `text` fields take strings and the string modifiers; `integer` fields whole numbers and lt/gt. */
  readonly type: 'text' | 'integer';
}

/** Sigma's field names (case-sensitive, as SigmaHQ's taxonomy spells them) → columns. */
export const SIGMA_PROCESS_CREATION_FIELDS: Readonly<Record<string, SigmaFieldMapping>> = {
  Image: {row: 'process', column: 'executable_path', type: 'text'},
  CommandLine: {row: 'process', column: 'cmdline', type: 'text'},
  ParentImage: {row: 'parent', column: 'executable_path', type: 'text'},
  ParentCommandLine: {row: 'parent', column: 'cmdline', type: 'text'},
  User: {row: 'process', column: 'user_name', type: 'text'},
  CurrentDirectory: {row: 'process', column: 'cwd', type: 'text'},
  ProcessId: {row: 'process', column: 'pid', type: 'integer'},
  ParentProcessId: {row: 'process', column: 'ppid', type: 'integer'},
};

/** The logsources the compiler reads (product and category; a `service` is refused). */
export const SIGMA_LOGSOURCES: readonly {readonly product: string; readonly category: string}[] = [{product: 'linux', category: 'process_creation'}];

/** The alias of the process row and of its parent row in compiled SQL. */
export const ROW_ALIAS: Readonly<Record<SigmaRow, string>> = {process: 'p', parent: 'parent'};
