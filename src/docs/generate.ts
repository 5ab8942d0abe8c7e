// Writes the generated reference pages (docs/schema.md, docs/fields.md, docs/configuration.md, docs/rules.md,
// docs/rules-sql.md, docs/coverage.md, docs/redaction.md). Run by `npm run docs`;
// tests compare the committed pages with what these functions render, so they never drift.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {renderConfigDoc} from '../config/config-doc.js';
import {computeCoverage, renderCoverageDoc} from '../detection/attack-coverage.js';
import {renderFieldsDoc} from '../models/field-contract.js';
import {renderSchemaDoc} from '../models/schema-doc.js';
import type {AlertSeverity} from '../models/severity.js';
import {renderRedactionDoc} from './redaction-doc.js';
import {readBuiltinRules, renderRulesDoc} from './rules-doc.js';
import {renderRulesSqlDoc} from './rules-sql-doc.js';

export const GENERATED_DOCS: Readonly<Record<string, () => string>> = {
  'docs/schema.md': renderSchemaDoc,
  'docs/fields.md': renderFieldsDoc,
  'docs/configuration.md': renderConfigDoc,
  'docs/rules.md': () => renderRulesDoc(),
  'docs/rules-sql.md': () => renderRulesSqlDoc(),
  'docs/coverage.md': () => renderCoverageDoc(computeCoverage(readBuiltinRules().map((rule) => ({...rule, severity: rule.severity as AlertSeverity})))),
  'docs/redaction.md': renderRedactionDoc,
};

export function writeGeneratedDocs(root: string): string[] {
  return Object.entries(GENERATED_DOCS).map(([path, render]) => {
    writeFileSync(join(root, path), render());
    return path;
  });
}
