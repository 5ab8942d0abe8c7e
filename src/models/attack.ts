// MITRE ATT&CK as rules tag it (Sigma's convention: `attack.t1059.004` for a technique, `attack.execution` for a
// tactic) and as alerts carry it: technique ids (`T1059.004`) and tactic short names (`execution`), plus the
// tactic ids and display names ECS and OCSF want. The tactic list is ATT&CK Enterprise's (v15, fourteen tactics).

/** ATT&CK Enterprise tactics: short name (Sigma tag) → id and display name. */
export const ATTACK_TACTICS: Readonly<Record<string, {readonly id: string; readonly name: string}>> = {
  reconnaissance: {id: 'TA0043', name: 'Reconnaissance'},
  'resource-development': {id: 'TA0042', name: 'Resource Development'},
  'initial-access': {id: 'TA0001', name: 'Initial Access'},
  execution: {id: 'TA0002', name: 'Execution'},
  persistence: {id: 'TA0003', name: 'Persistence'},
  'privilege-escalation': {id: 'TA0004', name: 'Privilege Escalation'},
  'defense-evasion': {id: 'TA0005', name: 'Defense Evasion'},
  'credential-access': {id: 'TA0006', name: 'Credential Access'},
  discovery: {id: 'TA0007', name: 'Discovery'},
  'lateral-movement': {id: 'TA0008', name: 'Lateral Movement'},
  collection: {id: 'TA0009', name: 'Collection'},
  'command-and-control': {id: 'TA0011', name: 'Command and Control'},
  exfiltration: {id: 'TA0010', name: 'Exfiltration'},
  impact: {id: 'TA0040', name: 'Impact'},
};

const TECHNIQUE_TAG = /^attack\.(t\d{4}(?:\.\d{3})?)$/;

/**
 * The ATT&CK technique ids and tactic short names of a rule's tags, each once, in tag order:
 * `['attack.t1059.004', 'attack.execution', 'linux']` → `{techniques: ['T1059.004'], tactics: ['execution']}`.
 * Tags that are neither (`attack.g0032` groups, `attack.s0002` software, free tags) are left out.
 */
export function attackOfTags(tags: readonly string[]): {techniques: string[]; tactics: string[]} {
  const techniques: string[] = [];
  const tactics: string[] = [];
  for (const tag of tags) {
    const lower = tag.toLowerCase();
    const technique = TECHNIQUE_TAG.exec(lower)?.[1];
    if (technique !== undefined) {
      const id = technique.toUpperCase();
      if (!techniques.includes(id)) techniques.push(id);
      continue;
    }
    const tactic = lower.startsWith('attack.') ? lower.slice('attack.'.length).replaceAll('_', '-') : '';
    if (ATTACK_TACTICS[tactic] !== undefined && !tactics.includes(tactic)) tactics.push(tactic);
  }
  return {techniques, tactics};
}
