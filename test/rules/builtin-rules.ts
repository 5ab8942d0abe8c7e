// The built-in rule files read with the stricter shape the pack promises (references, false positives, ATT&CK
// tags and at least two cases each), on top of what the engine's rule-file schema requires.
import {readdirSync, readFileSync} from 'node:fs';
import {join, relative} from 'node:path';

import {parse as parseYaml} from 'yaml';
import {z} from 'zod';

import {ROOT} from '../helpers/cli.js';

export const RULES_DIR = join(ROOT, 'rules');

const TestCaseSchema = z
  .object({
    name: z.string().min(1),
    processes: z.array(z.record(z.string(), z.unknown())).min(1),
    process_open_sockets: z.array(z.record(z.string(), z.unknown())).optional(),
    listening_ports: z.array(z.record(z.string(), z.unknown())).optional(),
    process_memory_map: z.array(z.record(z.string(), z.unknown())).optional(),
    process_libraries: z.array(z.record(z.string(), z.unknown())).optional(),
    process_envs: z.array(z.record(z.string(), z.unknown())).optional(),
    process_open_files: z.array(z.record(z.string(), z.unknown())).optional(),
    process_fd_peers: z.array(z.record(z.string(), z.unknown())).optional(),
    expect: z.array(z.int()),
    baseline_processes: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .strict();

export const BuiltinRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    name: z.string().min(1),
    description: z.string().min(1),
    version: z.int().positive(),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    category: z.string().min(1),
    tags: z.array(z.string().regex(/^attack\.(t\d{4}(\.\d{3})?|[a-z_]+)$/)).min(1),
    author: z.string().min(1),
    enabled: z.boolean(),
    sql_query: z.string().min(1),
    references: z.array(z.url()).min(1),
    false_positives: z.array(z.string().min(1)).min(1),
    group_by: z.array(z.string()).optional(),
    tests: z.array(TestCaseSchema).min(2),
  })
  .strict();
export type BuiltinRule = z.infer<typeof BuiltinRuleSchema> & {readonly path: string};

/** Every rule file under rules/ (lists under rules/lists are not rules), parsed and checked. */
export function loadRuleFiles(dir = RULES_DIR): BuiltinRule[] {
  const files: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, {withFileTypes: true})) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yaml') || entry.name.endsWith('.yml') || entry.name.endsWith('.sql')) files.push(path);
    }
  };
  walk(dir);
  return files.sort().map((path) => {
    const parsed = BuiltinRuleSchema.safeParse(parseYaml(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`${relative(ROOT, path)}: ${z.prettifyError(parsed.error)}`);
    return {...parsed.data, path};
  });
}
