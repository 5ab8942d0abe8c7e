// The redaction policy's test vectors: what each kind of value becomes. test/redaction/vectors.test.ts checks
// every one; docs/redaction.md shows them. The secrets are made up (AWS's documented example key, runs of
// letters and digits); none was ever valid.

import type {RedactionKind} from './redact.js';

export interface RedactionVector {
  readonly kind: RedactionKind;
  /** argv: the arguments; env: `[name, value]`; url and text: `[value]`. */
  readonly input: readonly string[];
  readonly output: readonly string[];
  /** What the vector shows (a form, or the secret scanner rule it comes from). */
  readonly note: string;
}

const GH = `ghp_${'A1b2C3d4E5'.repeat(3)}f6G7h8`;
const GL = 'glpat-Ab1Cd2Ef3Gh4Ij5Kl6Mn';
const SLACK = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const R = '[REDACTED]';

export const REDACTION_VECTORS: readonly RedactionVector[] = [
  // argv: flags
  {
    kind: 'argv',
    input: ['app', '--password', 'hunter2', '--port', '80'],
    output: ['app', '--password', R, '--port', '80'],
    note: 'a secret flag and its value',
  },
  {
    kind: 'argv',
    input: ['app', '--token=abc123', '--db-password=x'],
    output: ['app', `--token=${R}`, `--db-password=${R}`],
    note: '`--flag=value`, compound names',
  },
  {kind: 'argv', input: ['app', '--dbPassword', 'x', '--API-KEY=k'], output: ['app', '--dbPassword', R, `--API-KEY=${R}`], note: 'camelCase and upper case'},
  {
    kind: 'argv',
    input: ['java', '-Ddb.Password=hunter2', '-jar', 'app.jar'],
    output: ['java', `-Ddb.Password=${R}`, '-jar', 'app.jar'],
    note: 'Java system property',
  },
  {kind: 'argv', input: ['mysql', '-uroot', '-phunter2', 'db'], output: ['mysql', '-uroot', `-p${R}`, 'db'], note: "a tool's secret short flag, attached"},
  {kind: 'argv', input: ['/usr/bin/mysql', '-p', 'hunter2'], output: ['/usr/bin/mysql', '-p', R], note: "a tool's secret short flag, separate"},
  {kind: 'argv', input: ['sshpass', '-p', 'pw', 'ssh', 'host'], output: ['sshpass', '-p', R, 'ssh', 'host'], note: 'sshpass'},
  {
    kind: 'argv',
    input: ['curl', '--user', 'alice:pw', 'https://host/'],
    output: ['curl', '--user', `alice:${R}`, 'https://host/'],
    note: '`curl --user user:password`: the user is kept',
  },
  {kind: 'argv', input: ['curl', '-u', 'alice:pw', '-U', 'proxy:pw2'], output: ['curl', '-u', `alice:${R}`, '-U', `proxy:${R}`], note: '`curl -u`, `-U`'},
  {
    kind: 'argv',
    input: ['skopeo', 'copy', '--creds=bob:pw', 'docker://a'],
    output: ['skopeo', 'copy', `--creds=bob:${R}`, 'docker://a'],
    note: '`--creds user:password`',
  },
  {
    kind: 'argv',
    input: ['curl', '-H', 'Authorization: Bearer abc.def-123', 'https://api'],
    output: ['curl', '-H', `Authorization: Bearer ${R}`, 'https://api'],
    note: 'an Authorization header',
  },
  {kind: 'argv', input: ['curl', '-H', 'X-Api-Key: 0123abcd'], output: ['curl', '-H', `X-Api-Key: ${R}`], note: 'a header named for a secret'},
  {kind: 'argv', input: ['curl', '-H', 'PRIVATE-TOKEN: abc123'], output: ['curl', '-H', `PRIVATE-TOKEN: ${R}`], note: 'GitLab private-token header'},
  {
    kind: 'argv',
    input: ['docker', 'run', '-e', 'DB_PASSWORD=x1', '-e', 'PATH=/bin'],
    output: ['docker', 'run', '-e', `DB_PASSWORD=${R}`, '-e', 'PATH=/bin'],
    note: '`NAME=value` with a secret name',
  },
  {kind: 'argv', input: ['openssl', 'enc', '-pass', 'pass:xyz'], output: ['openssl', 'enc', '-pass', R], note: 'openssl -pass'},
  {kind: 'argv', input: ['openssl', 'rsa', '-passin', 'pass:xyz'], output: ['openssl', 'rsa', '-passin', `pass:${R}`], note: 'openssl `pass:` source'},
  {
    kind: 'argv',
    input: ['bash', '-c', 'mysql --password=hunter2 db; curl --user u:p x'],
    output: ['bash', '-c', `mysql --password=${R} db; curl --user u:${R} x`],
    note: 'a shell script in one argument (`bash -c`)',
  },
  {kind: 'argv', input: ['sh', '-c', 'mysql -phunter2 -h db'], output: ['sh', '-c', `mysql -p${R} -h db`], note: "a tool's short flag inside a script"},
  {
    kind: 'argv',
    input: ['sudo', 'bash -c "mysql -phunter2 db"'],
    output: ['sudo', `bash -c "mysql -p${R} db"`],
    note: 'a script quoted inside a script',
  },
  {
    kind: 'argv',
    input: ['/usr/bin/mysql', '-psecret -u root  --password=x'],
    output: ['/usr/bin/mysql', `-p${R} -u root  --password=${R}`],
    note: 'a parameter text (the systeminformation collector has no argv)',
  },
  {kind: 'argv', input: ['sh', '-c', 'app --token "a b"'], output: ['sh', '-c', `app --token "${R}"`], note: 'a quoted value inside a script'},
  // argv: URLs
  {
    kind: 'argv',
    input: ['git', 'clone', 'https://alice:tok3n@example.com/r.git'],
    output: ['git', 'clone', `https://alice:${R}@example.com/r.git`],
    note: 'a URL password',
  },
  {kind: 'argv', input: ['curl', 'https://user:p@ss@host/x'], output: ['curl', `https://user:${R}@host/x`], note: 'a password holding `@`'},
  {kind: 'argv', input: ['curl', 'https://user:pa/ss@host/x'], output: ['curl', `https://user:${R}@host/x`], note: 'a password holding `/`'},
  {kind: 'argv', input: ['psql', 'postgres://app:pw@db:5432/x'], output: ['psql', `postgres://app:${R}@db:5432/x`], note: 'a database URL'},
  {
    kind: 'argv',
    input: ['git', 'clone', `https://${GH}@github.com/o/r`],
    output: ['git', 'clone', `https://${R}@github.com/o/r`],
    note: 'a token as the URL user',
  },
  {
    kind: 'argv',
    input: ['curl', 'https://h/x?token=abc&page=2#access_token=z'],
    output: ['curl', `https://h/x?token=${R}&page=2#access_token=${R}`],
    note: 'query and fragment parameters',
  },
  {
    kind: 'argv',
    input: ['curl', 'https://s3/b/o?X-Amz-Signature=abc&sig=d'],
    output: ['curl', `https://s3/b/o?X-Amz-Signature=${R}&sig=${R}`],
    note: 'signed URLs',
  },
  // argv: look-alikes left alone
  {
    kind: 'argv',
    input: ['app', '--no-password', 'file', '--bypass', 'x', '--passwordless', '--tokens-file', 'f'],
    output: ['app', '--no-password', 'file', '--bypass', 'x', '--passwordless', '--tokens-file', 'f'],
    note: 'not secrets: negated, look-alike and file flags',
  },
  {
    kind: 'argv',
    input: ['app', '--password-file', '/run/pw', '--token-ttl', '60'],
    output: ['app', '--password-file', '/run/pw', '--token-ttl', '60'],
    note: 'not secrets: about a secret',
  },
  {kind: 'argv', input: ['mongod', '--auth', '--port', '27017'], output: ['mongod', '--auth', '--port', '27017'], note: 'a boolean secret flag'},
  {kind: 'argv', input: ['ssh', '-p', '2222', 'host'], output: ['ssh', '-p', '2222', 'host'], note: '`-p` of another tool'},
  {kind: 'argv', input: ['curl', 'https://host:8443/a/@b?q=1'], output: ['curl', 'https://host:8443/a/@b?q=1'], note: 'a port, not a password'},
  {kind: 'argv', input: ['curl', 'https://medium.com/@alice'], output: ['curl', 'https://medium.com/@alice'], note: '`@` in a path'},
  {kind: 'argv', input: ['app', '--user', 'alice'], output: ['app', '--user', 'alice'], note: 'a user name alone'},
  // token shapes (gitleaks, GitHub secret scanning), anywhere
  {kind: 'argv', input: ['gh', 'auth', GH], output: ['gh', 'auth', R], note: 'GitHub token'},
  {kind: 'argv', input: ['app', `github_pat_${'11ABCDEFG0'.repeat(3)}_xyz`], output: ['app', R], note: 'GitHub fine-grained token'},
  {kind: 'argv', input: ['app', GL], output: ['app', R], note: 'GitLab token'},
  {kind: 'argv', input: ['app', SLACK], output: ['app', R], note: 'Slack token'},
  {
    kind: 'text',
    input: ['post to https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX now'],
    output: [`post to https://hooks.slack.com/services/${R} now`],
    note: 'Slack webhook',
  },
  {kind: 'argv', input: ['aws', '--key', AWS], output: ['aws', '--key', R], note: 'AWS access key id'},
  {kind: 'env', input: ['AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'], output: [R], note: 'AWS secret access key'},
  {kind: 'argv', input: ['app', JWT], output: ['app', R], note: 'JSON Web Token'},
  {kind: 'argv', input: ['app', `key=AIza${'Sy0123456789abcdefghijklmnopqrstuvw'}`], output: ['app', `key=${R}`], note: 'Google API key'},
  {kind: 'argv', input: ['app', `sk_live_${'0123456789abcdef'}`], output: ['app', R], note: 'Stripe secret key'},
  {kind: 'argv', input: ['app', `npm_${'a1B2c3D4e5'.repeat(3)}F6g7H8`], output: ['app', R], note: 'npm token'},
  {kind: 'argv', input: ['vault', 'login', `hvs.${'CAESIJ0123456789abcdefgh'}`], output: ['vault', 'login', R], note: 'Vault token'},
  {kind: 'argv', input: ['app', `sk-ant-api03-${'Ab0'.repeat(10)}`], output: ['app', R], note: 'Anthropic key'},
  {kind: 'argv', input: ['app', `sk-proj-${'Ab0'.repeat(10)}`], output: ['app', R], note: 'OpenAI key'},
  {kind: 'argv', input: ['app', `dckr_pat_${'Ab0'.repeat(10)}`], output: ['app', R], note: 'Docker Hub token'},
  {kind: 'argv', input: ['app', `hf_${'Ab0'.repeat(12)}`], output: ['app', R], note: 'Hugging Face token'},
  {
    kind: 'text',
    input: ['key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----\n'],
    output: [`key:\n-----BEGIN OPENSSH PRIVATE KEY-----${R}-----END OPENSSH PRIVATE KEY-----\n`],
    note: 'a private key block',
  },
  {kind: 'text', input: ['-----BEGIN RSA PRIVATE KEY-----\nMIIEow'], output: [`-----BEGIN RSA PRIVATE KEY-----${R}`], note: 'a private key block cut short'},
  // environment values
  {kind: 'env', input: ['DB_PASSWORD', 'hunter2'], output: [R], note: 'a secret name'},
  {kind: 'env', input: ['PGPASSWORD', 'hunter2'], output: [R], note: 'a secret word ending a name'},
  {kind: 'env', input: ['GITHUB_TOKEN', 'x'], output: [R], note: 'a token variable'},
  {
    kind: 'env',
    input: ['SUDO_COMMAND', '/usr/bin/mysql -phunter2 --password=x'],
    output: [`/usr/bin/mysql -p${R} --password=${R}`],
    note: 'a command line in a variable',
  },
  {kind: 'env', input: ['http_proxy', 'http://bob:pw@proxy:3128'], output: [`http://bob:${R}@proxy:3128`], note: 'a proxy URL'},
  {kind: 'env', input: ['SSH_AUTH_SOCK', '/tmp/ssh-x/agent.1'], output: ['/tmp/ssh-x/agent.1'], note: 'not a secret: a socket path'},
  {kind: 'env', input: ['LD_PRELOAD', '/lib/x.so'], output: ['/lib/x.so'], note: 'not a secret'},
  // URLs (configuration values, webhook endpoints)
  {
    kind: 'url',
    input: ['https://alice:S3cret@hooks.example/in?token=abc&x=1'],
    output: [`https://alice:${R}@hooks.example/in?token=${R}&x=1`],
    note: 'a webhook URL',
  },
  {kind: 'url', input: ['ht tp://alice:S3cret@exa mple/'], output: [`ht tp://alice:${R}@exa mple/`], note: 'an invalid URL'},
  {kind: 'url', input: ['https//alice:S3cret@host/'], output: [`https//alice:${R}@host/`], note: 'a URL without `://`'},
  // free text (logs, errors, reports)
  {
    kind: 'text',
    input: ['request failed: https://u:pw@h/x?api_key=k1'],
    output: [`request failed: https://u:${R}@h/x?api_key=${R}`],
    note: 'a URL in a message',
  },
  {kind: 'text', input: ['password=hunter2 user=bob'], output: [`password=${R} user=bob`], note: '`key=value`'},
  {kind: 'text', input: ['a.yaml: password=hunter2'], output: [`a.yaml: password=${R}`], note: '`key=value` after a `name: ` in a message'},
  {kind: 'text', input: ['{"client_secret":"abc","id":1}'], output: [`{"client_secret":"${R}","id":1}`], note: 'JSON text'},
  {kind: 'text', input: ['password: hunter2'], output: [`password: ${R}`], note: '`key: value` starting a line'},
  {kind: 'text', input: ['config:\n  password: hunter2\n'], output: [`config:\n  password: ${R}\n`], note: 'a YAML line'},
  {
    kind: 'text',
    input: ['http://h/x refused the configured credentials: HTTP 401'],
    output: ['http://h/x refused the configured credentials: HTTP 401'],
    note: 'not a secret: `word: value` inside prose',
  },
  {kind: 'text', input: ['cmd: app --password hunter2'], output: [`cmd: app --password ${R}`], note: 'a flag in a message'},
  {
    kind: 'text',
    input: ['alerting.sinks.0.hmac_secret: expected string, got number 5'],
    output: ['alerting.sinks.0.hmac_secret: expected string, got number 5'],
    note: 'not a secret: a key named in a message',
  },
  {kind: 'text', input: ['Basic authentication failed'], output: ['Basic authentication failed'], note: 'not a secret: prose'},
];
