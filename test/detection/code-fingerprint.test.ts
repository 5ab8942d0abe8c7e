// The fingerprints of the code behind recorded rule verdicts are build-time constants (src/build-info.ts),
// hashed from the TypeScript sources; a run never hashes code, so a bundled or recompiled build agrees.
import {copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {BUILD_INFO} from '../../src/build-info.js';
import {ruleFormatSources, sourcesFingerprint, validatorSources} from '../../src/detection/code-fingerprint.js';
import {ruleFormatFingerprint} from '../../src/detection/rule-cache.js';
import {SqlValidator} from '../../src/detection/sql-validator.js';
import {TOOL_VERSION} from '../../src/version.js';
import {removeDir, ROOT, tempDir} from '../helpers/cli.js';

const detection = join(ROOT, 'src', 'detection');
const dir = tempDir();
afterAll(() => removeDir(dir));

describe('build-time fingerprints', () => {
  it('are the fingerprints of the current sources, and the version is package.json’s', () => {
    expect(BUILD_INFO.ruleFormatCode).toBe(sourcesFingerprint(detection, ruleFormatSources(detection)));
    expect(ruleFormatFingerprint()).toBe(BUILD_INFO.ruleFormatCode);
    // Found by following rule-format.ts's run-time imports: the shared contract and every Sigma module.
    expect(ruleFormatSources(detection)).toEqual(
      expect.arrayContaining(['rule-format.ts', 'rule-file.ts', 'rule-source.ts', 'sigma/compile.ts', 'sigma/format.ts', 'regex.ts']),
    );
    expect(TOOL_VERSION).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version);
    expect(BUILD_INFO.validatorCode).toMatch(/^[0-9a-f]{64}$/);
  });

  it('change with any byte of a covered source file, with a new sql-* module and with a dependency version', () => {
    const copy = join(dir, 'detection');
    cpSync(detection, copy, {recursive: true});
    const before = sourcesFingerprint(copy, validatorSources(copy), 'node-sql-parser@1');
    expect(sourcesFingerprint(copy, validatorSources(copy), 'node-sql-parser@2')).not.toBe(before);
    writeFileSync(join(copy, 'sql-extra.ts'), '// a new module of the validator\n');
    expect(validatorSources(copy)).toContain('sql-extra.ts');
    const withExtra = sourcesFingerprint(copy, validatorSources(copy), 'node-sql-parser@1');
    expect(withExtra).not.toBe(before);
    const file = join(copy, 'sql-policy.ts');
    writeFileSync(file, `${readFileSync(file, 'utf8')} `);
    expect(sourcesFingerprint(copy, validatorSources(copy), 'node-sql-parser@1')).not.toBe(withExtra);
    const format = sourcesFingerprint(copy, ruleFormatSources(copy));
    const sigma = join(copy, 'sigma', 'compile.ts');
    writeFileSync(sigma, `${readFileSync(sigma, 'utf8')}\n`);
    expect(sourcesFingerprint(copy, ruleFormatSources(copy))).not.toBe(format);
  });

  it('a missing source file fails the build rather than fingerprinting less code', () => {
    const copy = join(dir, 'missing');
    mkdirSync(copy);
    copyFileSync(join(detection, 'regex.ts'), join(copy, 'regex.ts'));
    expect(() => sourcesFingerprint(copy, ruleFormatSources(copy))).toThrow(/ENOENT/);
  });

  it('the validator fingerprint is made of the constant, not of code read at run time', () => {
    const fingerprint = new SqlValidator().fingerprint;
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(new SqlValidator().fingerprint).toBe(fingerprint);
  });
});
