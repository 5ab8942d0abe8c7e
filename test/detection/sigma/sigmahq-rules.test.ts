// SigmaHQ's Linux process_creation and network_connection rules (test/fixtures/sigma, DRL 1.1): each either
// compiles to SQL the rule validator accepts, or is refused with one `file:line:col: key: reason` line. Both
// counts are printed.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {findRuleFiles} from '../../../src/detection/rule-paths.js';
import {ruleFormatOf, validateRuleFile, validateRuleText} from '../../../src/detection/rule-format.js';
import {SqlValidator} from '../../../src/detection/sql-validator.js';
import {ROOT} from '../../helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'sigma');

describe('SigmaHQ Linux process_creation rules', () => {
  it('each compiles to validated SQL or is refused with a named reason; at least 140 of 144 compile', () => {
    const validator = new SqlValidator().withReadOnlyMode(true);
    const files = findRuleFiles(FIXTURES).filter((file) => !file.includes('/network_connection/'));
    expect(files).toHaveLength(144);
    const results = files.map((file) => validateRuleFile(file, validator));
    const compiled = results.filter((r) => r.valid);
    const refused = results.filter((r) => !r.valid);
    for (const result of compiled) {
      expect(result.rule?.format).toBe('sigma');
      expect(validator.validateQuery(result.rule?.sql_query ?? '')).toEqual({valid: true});
    }
    for (const result of refused) {
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toMatch(new RegExp(`^${result.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: [^:]+: \\S.+`));
    }
    console.log(`SigmaHQ Linux process_creation: ${compiled.length} compiled, ${refused.length} refused`);
    for (const result of refused) console.log(`  refused: ${result.problems[0] ?? ''}`);
    expect(compiled.length).toBeGreaterThanOrEqual(140);
  });

  it('network_connection: the two a socket snapshot answers compile; the three reading DestinationHostname are refused by name', () => {
    const validator = new SqlValidator().withReadOnlyMode(true);
    const files = findRuleFiles(join(FIXTURES, 'rules', 'linux', 'network_connection'));
    expect(files).toHaveLength(5);
    const results = new Map(files.map((file) => [file.split('/').pop() ?? '', validateRuleFile(file, validator)]));
    for (const name of ['net_connection_lnx_back_connect_shell_dev.yml', 'net_connection_lnx_susp_malware_callback_port.yml']) {
      expect(results.get(name)?.problems).toEqual([]);
      expect(results.get(name)?.rule?.sql_query).toMatch(/FROM process_open_sockets AS s\nJOIN processes AS p ON p\.scan_id = s\.scan_id AND p\.pid = s\.pid/);
    }
    for (const name of [
      'net_connection_lnx_crypto_mining_indicators.yml',
      'net_connection_lnx_domain_localtonet_tunnel.yml',
      'net_connection_lnx_ngrok_tunnel.yml',
    ]) {
      expect(results.get(name)?.problems).toEqual([
        expect.stringMatching(
          /:\d+:9: detection\.selection\.DestinationHostname(\|\w+)?: field DestinationHostname is not supported for linux network_connection: a socket holds the peer address, not the host name it was resolved from/,
        ),
      ]);
    }
  });

  it('takes the metadata: id, title, level, status, tags, references, falsepositives, author, date, modified', () => {
    const file = join(FIXTURES, 'rules', 'linux', 'process_creation', 'proc_creation_lnx_base64_decode.yml');
    const result = validateRuleFile(file, new SqlValidator().withReadOnlyMode(true));
    expect(result.valid).toBe(true);
    expect(result.rule).toMatchObject({
      format: 'sigma',
      id: 'e2072cab-8c9a-459b-b63c-40ae79e27031',
      name: 'Decode Base64 Encoded Text',
      severity: 'low',
      status: 'test',
      category: 'stealth',
      author: 'Daniil Yugoslavskiy, oscd.community',
      date: '2020-10-19',
    });
    expect(result.rule?.tags).toContain('attack.t1027');
    expect(result.rule?.references.length).toBeGreaterThan(0);
    expect(result.rule?.false_positives).toEqual(['Legitimate activities']);
  });
});

describe('the rule-format seam', () => {
  const sigma = readFileSync(join(FIXTURES, 'rules', 'linux', 'process_creation', 'proc_creation_lnx_base64_decode.yml'), 'utf8');

  it('recognises a Sigma rule by its content (title, logsource, detection), not its extension', () => {
    expect(ruleFormatOf('any-name.yaml', sigma).name).toBe('sigma');
    expect(ruleFormatOf('rule.txt.yml', sigma).name).toBe('sigma');
    expect(ruleFormatOf('native.yaml', 'id: x\nname: y\nseverity: low\nsql_query: SELECT pid FROM processes\n').name).toBe('daemoneye');
    expect(ruleFormatOf('title-only.yaml', 'id: x\ntitle: y\n').name).toBe('daemoneye');
  });

  it("takes Sigma's informational level and refuses a missing one by line", () => {
    const informational = validateRuleText('info.yml', sigma.replace(/^level: low$/m, 'level: informational'), new SqlValidator());
    expect(informational.rule?.severity).toBe('informational');
    const missing = validateRuleText('nolevel.yml', sigma.replace(/^level: low\n/m, ''), new SqlValidator());
    expect(missing.problems).toEqual(['nolevel.yml:1:1: level: required field is missing']);
  });

  it('names the file, line and reason of a refusal', () => {
    const text = sigma.replace("CommandLine|contains: '-d'", "LogonId: '0x0'");
    const result = validateRuleText('unmapped.yml', text, new SqlValidator());
    const line = text.split('\n').findIndex((l) => l.includes('LogonId')) + 1;
    expect(result.problems).toEqual([
      expect.stringMatching(new RegExp(`^unmapped\\.yml:${line}:9: detection\\.selection\\.LogonId: field LogonId has no mapping`)),
    ]);
  });

  it('refuses Sigma rule collections (several YAML documents) by name', () => {
    const result = validateRuleText('collection.yml', `${sigma}\n---\n${sigma}`, new SqlValidator());
    expect(result.problems[0]).toMatch(/rule collections are not supported/);
  });
});
