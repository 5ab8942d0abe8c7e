import {describe, expect, it} from 'vitest';

import {AUDIT_ACTION_PAYLOADS, AUDIT_ACTIONS, auditPayloadProblem, isSuccessfulRun, proofShapeProblem, recordShapeProblem} from '../../src/audit/schema.js';

const entry = (action: string, payload: unknown, type = 'entry') => ({type, action, payload});

describe('audit actions', () => {
  it('each action has its payload schema, and a payload that does not fit is named', () => {
    expect(AUDIT_ACTIONS).toEqual(Object.keys(AUDIT_ACTION_PAYLOADS));
    expect(AUDIT_ACTIONS).toEqual(expect.arrayContaining(['process_collection', 'detection', 'detection_refused', 'query', 'sql_refused']));
    expect(auditPayloadProblem('sql_refused', {sql: 'SELECT 1', sql_bytes: 8, reasons: [], exit_code: 2})).toBeUndefined();
    expect(auditPayloadProblem('sql_refused', {sql: 'SELECT 1', exit_code: 2})).toMatch(/sql_bytes/);
    expect(auditPayloadProblem('rule_enable', {file: 'f', rule_id: 'r', enabled: false, changed: true, created: false, exit_code: 0})).toMatch(/enabled/);
    // Every action a command records carries the exit code it ended with (the base command stamps it).
    for (const action of AUDIT_ACTIONS.filter((a) => a !== 'ledger_torn_record_quarantined')) {
      expect(Object.keys(AUDIT_ACTION_PAYLOADS[action].shape), action).toContain('exit_code');
    }
  });

  it('counts as a successful run only a scan or detect entry that ended with exit 0 or 1', () => {
    expect(isSuccessfulRun(entry('detection', {exit_code: 0}))).toBe(true);
    expect(isSuccessfulRun(entry('detection', {exit_code: 1}))).toBe(true);
    expect(isSuccessfulRun(entry('process_collection', {exit_code: 0}))).toBe(true);
    // A refused detect (exit 2) is its own action; a failed run carries exit 2 or 3; no exit code is no proof.
    expect(isSuccessfulRun(entry('detection_refused', {code: 'SQL_REFUSED', error: 'x', details: [], exit_code: 0}))).toBe(false);
    expect(isSuccessfulRun(entry('detection', {exit_code: 2}))).toBe(false);
    expect(isSuccessfulRun(entry('detection', {exit_code: 3}))).toBe(false);
    expect(isSuccessfulRun(entry('detection', {}))).toBe(false);
    // Action names are matched exactly, not by a pattern over action and actor.
    expect(isSuccessfulRun(entry('detect', {exit_code: 0}))).toBe(false);
    expect(isSuccessfulRun(entry('keys_generate', {exit_code: 0}))).toBe(false);
    expect(isSuccessfulRun(entry('detection', {exit_code: 0}, 'checkpoint'))).toBe(false);
  });
});

describe('ledger record schema', () => {
  const record = {
    seq: 0,
    type: 'entry',
    time: 1,
    actor: 'a',
    action: 'query',
    payload: null,
    prev_hash: '0'.repeat(64),
    entry_hash: 'a'.repeat(64),
    frontier: [],
  };

  it('accepts a record and names the first bad field', () => {
    expect(recordShapeProblem(record)).toBeUndefined();
    expect(recordShapeProblem([])).toBe('not a JSON object');
    expect(recordShapeProblem({...record, seq: -1})).toBe('seq is not a non-negative integer');
    expect(recordShapeProblem({...record, type: 'other'})).toBe('type is neither "entry" nor "checkpoint"');
    expect(recordShapeProblem({...record, prev_hash: 'AB'})).toBe('prev_hash is not 64 lower-case hex digits');
    const {payload: _payload, ...noPayload} = record;
    expect(recordShapeProblem(noPayload)).toBe('payload is missing');
  });

  it('checks an inclusion proof with the same record and checkpoint schemas', () => {
    const {frontier: _frontier, ...proofRecord} = record;
    const proof = {
      version: 1,
      leaf_index: 0,
      tree_size: 1,
      record: proofRecord,
      leaf_hash: 'b'.repeat(64),
      audit_path: [],
      root: 'b'.repeat(64),
      checkpoint: null,
    };
    expect(proofShapeProblem(proof)).toBeUndefined();
    expect(proofShapeProblem({...proof, version: 2})).toBe('version is not 1');
    expect(proofShapeProblem({...proof, record: {...proofRecord, entry_hash: 'x'}})).toBe('record: entry_hash is not 64 lower-case hex digits');
    expect(proofShapeProblem({...proof, checkpoint: {tree_size: 1, root: 'b'.repeat(64), time: 1, key_id: 'k', signature: null}})).toMatch(
      /^checkpoint: key_id and signature must both be set or both be null$/,
    );
  });
});
