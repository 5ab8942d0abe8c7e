// DetectionRule: the reference API's rule model (docs/api.md). Rule *files* carry more (tests, references): see src/detection.
import {z} from 'zod';

import {AlertSeveritySchema} from './severity.js';

export const RULE_SOURCE_TYPES = ['builtin', 'file', 'user'] as const;
export const RuleSourceTypeSchema = z
  .enum(RULE_SOURCE_TYPES)
  .describe('Where a rule came from: builtin (shipped), file (--rules / rules_paths), user (user configuration dir)');
export type RuleSourceType = z.infer<typeof RuleSourceTypeSchema>;

export const RULE_ID = /^[a-z0-9][a-z0-9._-]*$/;

export const DetectionRuleSchema = z
  .object({
    id: z.string().regex(RULE_ID, 'rule ids are lower-case letters, digits, ".", "_" and "-"').describe('Unique rule identifier'),
    name: z.string().min(1).describe('Rule name'),
    description: z.string().nullable().describe('Rule description'),
    version: z.int().positive().describe('Rule version'),
    sql_query: z.string().min(1).describe('SQL query for detection'),
    enabled: z.boolean().describe('Whether the rule is enabled'),
    severity: AlertSeveritySchema,
    category: z.string().nullable().describe('Rule category'),
    tags: z.array(z.string()).describe('Rule tags (ATT&CK as `attack.t1059.004`)'),
    author: z.string().nullable().describe('Rule author'),
    created_at: z.int().describe('Creation timestamp, epoch ms'),
    updated_at: z.int().describe('Last update timestamp, epoch ms'),
    source_type: RuleSourceTypeSchema,
    source_path: z.string().nullable().describe('Source file path'),
  })
  .strict();
export type DetectionRule = z.infer<typeof DetectionRuleSchema>;
