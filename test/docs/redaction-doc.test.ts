import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {GENERATED_DOCS} from '../../src/docs/generate.js';
import {renderRedactionDoc} from '../../src/docs/redaction-doc.js';
import {TABLES} from '../../src/models/tables.js';
import {SECRET_WORDS, TOKEN_RULES} from '../../src/redaction/policy.js';
import {REDACTION_VECTORS} from '../../src/redaction/vectors.js';
import {ROOT} from '../helpers/cli.js';

describe('docs/redaction.md', () => {
  it('keeps docs/redaction.md in step with the policy (run `npm run build && npm run docs` after changing it)', () => {
    expect(GENERATED_DOCS['docs/redaction.md']).toBeDefined();
    expect(readFileSync(join(ROOT, 'docs', 'redaction.md'), 'utf8')).toBe(renderRedactionDoc());
  });

  it('names every secret word, token rule, redacted column and test vector, and how to opt out', () => {
    const doc = renderRedactionDoc();
    for (const word of SECRET_WORDS) expect(doc).toContain(`\`${word}\``);
    for (const rule of TOKEN_RULES) expect(doc).toContain(`| \`${rule.id}\` |`);
    for (const table of TABLES) for (const column of Object.keys(table.redaction ?? {})) expect(doc).toContain(`\`${table.name}.${column}\``);
    expect(doc.split('\n').filter((line) => /^\| (argv|env|url|text) \|/.test(line))).toHaveLength(REDACTION_VECTORS.length);
    expect(doc).toContain('collect --no-redact');
    expect(doc).toContain('scan --no-redact');
  });
});
