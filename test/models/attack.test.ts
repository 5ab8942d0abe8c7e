import {describe, expect, it} from 'vitest';

import {ATTACK_TACTICS, attackOfTags} from '../../src/models/attack.js';

describe('ATT&CK of rule tags', () => {
  it('takes technique ids and tactic short names, each once, in tag order', () => {
    expect(attackOfTags(['attack.t1059.004', 'attack.execution', 'linux', 'attack.T1059.004', 'attack.defense_evasion', 'attack.t1036'])).toEqual({
      techniques: ['T1059.004', 'T1036'],
      tactics: ['execution', 'defense-evasion'],
    });
  });

  it('leaves out groups, software and unknown tactics', () => {
    expect(attackOfTags(['attack.g0032', 'attack.s0002', 'attack.nonsense', 'attack.t12', 'cve.2021-4034'])).toEqual({techniques: [], tactics: []});
  });

  it('knows the fourteen Enterprise tactics with their ids', () => {
    expect(Object.keys(ATTACK_TACTICS)).toHaveLength(14);
    expect(ATTACK_TACTICS['command-and-control']).toEqual({id: 'TA0011', name: 'Command and Control'});
  });
});
