import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {SQL_POLICY} from '../../src/detection/sql-policy.js';
import {REFUSAL_REASONS} from '../../src/detection/sql-validator.js';
import {GENERATED_DOCS} from '../../src/docs/generate.js';
import {renderRulesSqlDoc} from '../../src/docs/rules-sql-doc.js';
import {ROOT} from '../helpers/cli.js';

describe('docs/rules-sql.md', () => {
  it('keeps docs/rules-sql.md in step with the validator policy (run `npm run build && npm run docs` after changing it)', () => {
    expect(GENERATED_DOCS['docs/rules-sql.md']).toBeDefined();
    expect(readFileSync(join(ROOT, 'docs', 'rules-sql.md'), 'utf8')).toBe(renderRulesSqlDoc());
  });

  it('names every allowed, user and forbidden function, every refusal reason and every unsupported construct', () => {
    const doc = renderRulesSqlDoc();
    for (const name of SQL_POLICY.allowedFunctions.flatMap((group) => group.names)) expect(doc).toContain(`\`${name}\``);
    for (const udf of SQL_POLICY.userFunctions) expect(doc).toContain(udf.usage);
    for (const forbidden of SQL_POLICY.forbiddenFunctions) expect(doc).toContain(`| \`${forbidden.name}\` | ${forbidden.why} |`);
    for (const reason of Object.keys(REFUSAL_REASONS)) expect(doc).toContain(`| \`${reason}\` |`);
    for (const syntax of SQL_POLICY.unsupportedSyntax) expect(doc).toContain(syntax.docsConstruct);
    expect(doc).toContain(`${SQL_POLICY.limits.maxJoins} joins per`);
  });
});
