// Alert: the reference API's Alert (docs/api.md), as it leaves the process (stdout, sinks, snapshot files).
import {z} from 'zod';

import {columnsOf} from './columns.js';
import {HostSchema} from './host.js';
import {AlertSeveritySchema} from './severity.js';

export const AlertSchema = z
  .object({
    id: z.uuid().describe('Unique alert identifier (UUID v4)'),
    alert_time: z.int().describe('When the alert was generated, epoch milliseconds'),
    rule_id: z.string().min(1).describe('Identifier of the rule that generated the alert'),
    title: z.string().describe('Alert title (the rule name)'),
    description: z.string().describe('What was detected'),
    severity: AlertSeveritySchema,
    scan_id: z.int().nullable().describe('Scan the affected processes belong to'),
    affected_processes: z.array(z.int().nonnegative()).describe('PIDs of the affected processes'),
    process_count: z.int().nonnegative().describe('Number of affected processes'),
    alert_data: z.unknown().describe("Additional data (JSON): the rule's result rows under `processes`"),
    rule_execution_time_ms: z.int().nullable().describe('Rule execution time in milliseconds'),
    dedupe_key: z.string().describe('Deduplication key: rule id and key values joined with `:`'),
    host: HostSchema.nullable().default(null).describe('The host the affected processes run on (null when the input mixes hosts, or in older files)'),
    attack_techniques: z
      .array(z.string().regex(/^T\d{4}(\.\d{3})?$/))
      .default([])
      .describe('MITRE ATT&CK technique ids of the rule (its `attack.tNNNN` tags), e.g. `T1059.004`'),
    attack_tactics: z.array(z.string()).default([]).describe('MITRE ATT&CK tactics of the rule (its tactic tags), short names such as `defense-evasion`'),
  })
  .strict();
export type Alert = z.infer<typeof AlertSchema>;

export const ALERT_TABLE_COLUMNS = columnsOf(AlertSchema);
