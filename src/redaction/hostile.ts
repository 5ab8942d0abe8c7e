// Inputs that make a badly written pattern backtrack without end: the redaction policy's own prefixes and
// delimiters, repeated, and long runs of the characters its patterns repeat. Used by the linear-time test and
// the redaction benchmark (a pattern that stays linear on these is written as policy.ts's header says).

/** Pieces of text each pattern of the policy starts with, repeats or waits for. */
export const HOSTILE_ATOMS: readonly string[] = [
  'ghp_',
  'ghp_a',
  'github_pat_',
  'glpat-',
  'xoxb-',
  'xapp-',
  'hooks.slack.com/services/',
  'hooks.slack.com/services/a',
  'discord.com/api/webhooks/1/',
  '123456:AA',
  'AKIA',
  'AKIAAAAA',
  'eyJ',
  'eyJa',
  'eyJaaaa.',
  'eyJaaaa.eyJaaaa',
  'AIza',
  'sk_live_',
  'npm_',
  'pypi-AgEIcHlwaS5vcmc',
  'dckr_pat_',
  'hvs.',
  'SG.',
  'SG.a',
  'sk-proj-',
  'sk-ant-',
  'hf_',
  'dop_v1_',
  'shpat_',
  'AGE-SECRET-KEY-1',
  'Authorization: ',
  'authorization:Bearer ',
  'Bearer ',
  'Bearer a',
  'basic ',
  '-----BEGIN RSA PRIVATE KEY-----',
  '-----BEGIN ',
  'PRIVATE KEY',
  'https://',
  'a://',
  'a://b:',
  'a://:',
  'https://a@',
  'https://a:b@',
  '@',
  'a@',
  ':@',
  'a:',
  ': ',
  'a=',
  '=',
  'password=',
  'password="',
  "password='",
  'password: ',
  '"password": ',
  '"password":"',
  '--password ',
  '--password "',
  '--password=',
  '-p',
  '--a ',
  '-',
  '--',
  '?',
  '?a=',
  '&a=',
  '#a=',
  'a',
  'A',
  '0',
  '_',
  '.',
  '/',
  ' ',
  '\t',
  '"',
  "'",
  '\\',
  'a b',
  'mysql ',
  'curl -u ',
];

/** How an atom is laid out: repeated to the size, or once before or after a run of letters. */
export const HOSTILE_SHAPES = ['repeated', 'then-run', 'after-run'] as const;
export type HostileShape = (typeof HOSTILE_SHAPES)[number];

/** One hostile input of `size` characters (about). */
export function hostileInput(atom: string, shape: HostileShape, size: number): string {
  switch (shape) {
    case 'repeated':
      return atom.repeat(Math.ceil(size / atom.length)).slice(0, size);
    case 'then-run':
      return `${atom}${'a'.repeat(size)}`;
    case 'after-run':
      return `${'a'.repeat(size)}${atom}`;
  }
}
