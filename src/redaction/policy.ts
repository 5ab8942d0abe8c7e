// The redaction policy, as data: which names mark a secret, which flags carry one, which token shapes are
// secrets wherever they appear. src/redaction/redact.ts applies it by kind of value (argv, environment value,
// URL, free text); docs/redaction.md is generated from it with its test vectors (src/redaction/vectors.ts).
//
// Every pattern here runs over text an attacker chose (argv, environment, file names), so each is written to
// run in time linear in its input on a backtracking engine (V8's irregexp):
// - a quantifier without an upper bound is only ever followed by something its class cannot match (the greedy
//   run is then the only way to match, and a failure gives back at most that run once);
// - where a failed attempt could scan far, the pattern opens with a lookbehind that refuses to start inside a
//   run of the same characters, so each run is scanned from its start only;
// - nothing is nested: no quantified group holds another quantifier.
// test/redaction/linear-time.test.ts feeds each pattern megabytes of the inputs that would break these rules.

/** What a secret becomes. */
export const REDACTED = '[REDACTED]';

/**
 * Words that mark a name as a secret's: a flag (`--db-password`), an environment variable (`GITHUB_TOKEN`), a
 * URL query key (`?access_token=`), a property (`-Ddb.Password=`), a configuration key (`hmac_secret`).
 * A name is split into parts at `-`, `_`, `.`, spaces and lower→upper case changes (`dbPassword`); a word of
 * several parts (`api-key`) matches those parts in a row; a one-part word of five letters or more also
 * matches the end of a part (`PGPASSWORD`, `authtoken`). `collection.redaction.flags` replaces this list for
 * collected data.
 */
export const SECRET_WORDS: readonly string[] = [
  'password',
  'passwd',
  'pass',
  'pwd',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'credential',
  'credentials',
  'creds',
  'auth',
  'apikey',
  'api-key',
  'access-key',
  'accesskey',
  'private-key',
  'privatekey',
  'account-key',
  'accountkey',
  'cookie',
];

/**
 * A name with a secret word whose last part is one of these names something about the secret, not the secret
 * itself: `--password-file PATH`, `TOKEN_TTL`, `--auth-type basic`, `SSH_AUTH_SOCK`, `docker login
 * --password-stdin`. Its value is kept (a credential inside it, e.g. in a URL, is still redacted).
 */
export const NON_SECRET_SUFFIXES: readonly string[] = [
  'file',
  'files',
  'path',
  'dir',
  'directory',
  'sock',
  'socket',
  'fd',
  'id',
  'name',
  'user',
  'username',
  'type',
  'kind',
  'length',
  'len',
  'size',
  'ttl',
  'timeout',
  'expiry',
  'expires',
  'lifetime',
  'url',
  'uri',
  'endpoint',
  'host',
  'port',
  'header',
  'env',
  'var',
  'command',
  'cmd',
  'stdin',
  'prompt',
  'policy',
  'min',
  'max',
  'enabled',
  'required',
  'mode',
  'method',
  'scheme',
  'format',
  'algorithm',
  'version',
  'level',
  'count',
  'source',
  'store',
  'helper',
];

/** Flags (any tool) whose value is `user:password`: the part after the first `:` is redacted, the user kept. */
export const PAIR_FLAGS: readonly string[] = ['user', 'proxy-user', 'creds', 'basic-auth', 'userpass'];

/** Per tool (basename of argv[0]), short flags whose value is a secret: `mysql -pX`, `mysql -p X`. */
export const DEFAULT_SHORT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  mysql: ['-p'],
  mysqldump: ['-p'],
  mariadb: ['-p'],
  mysqladmin: ['-p'],
  sshpass: ['-p'],
  'redis-cli': ['-a'],
  psql: [],
  curl: [],
  wget: [],
  smbclient: ['-U'],
  htpasswd: ['-b'],
};

/** Per tool, short flags whose value is `user:password` (as PAIR_FLAGS): `curl -u alice:pw`, `curl -U proxyuser:pw`. */
export const PAIR_SHORT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  curl: ['-u', '-U'],
  'http-prompt': ['-a'],
  http: ['-a'],
  https: ['-a'],
};

/** URL query keys whose value is a secret though their name holds no secret word (signed URLs, API keys). */
export const SECRET_QUERY_KEYS: readonly string[] = ['sig', 'signature', 'key', 'x-amz-signature', 'x-amz-security-token', 'x-goog-signature', 'code'];

/** A secret recognised by its shape wherever it appears (from the rules of gitleaks and GitHub secret scanning). */
export interface TokenRule {
  readonly id: string;
  readonly description: string;
  /**
   * The whole match is the secret, unless the pattern has a group named `secret`: then only that group is
   * replaced (group `pre`, when present, is kept before it). Global flag required.
   */
  readonly pattern: RegExp;
  /** Every match contains one of these (compared without case when the pattern ignores case): a cheap test first. */
  readonly literals: readonly string[];
  /** A made-up secret of this shape, redacted by this rule (test/redaction checks each). */
  readonly example: string;
}

const A36 = 'A1b2C3d4E5'.repeat(3) + 'f6G7h8';

/** Token shapes: a match is redacted in every kind of value (argv, environment, URL, free text). */
export const TOKEN_RULES: readonly TokenRule[] = [
  {
    id: 'github-token',
    description: 'GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens',
    pattern: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}/g,
    literals: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    example: `ghp_${A36}`,
  },
  {
    id: 'github-fine-grained-token',
    description: 'GitHub fine-grained personal access token',
    pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}/g,
    literals: ['github_pat_'],
    example: `github_pat_11${A36}_${A36}`,
  },
  {
    id: 'gitlab-token',
    description: 'GitLab personal, deploy, runner, CI job, feed, OAuth and agent tokens',
    pattern: /(?<![A-Za-z0-9_-])gl(?:pat|dt|rt|ptt|cbt|ft|soat|oas|imt|agent)-[A-Za-z0-9_-]{20,}/g,
    literals: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'glft-', 'glsoat-', 'gloas-', 'glimt-', 'glagent-'],
    example: 'glpat-Ab1Cd2Ef3Gh4Ij5Kl6Mn',
  },
  {
    id: 'slack-token',
    description: 'Slack bot, user, app-level, workspace and refresh tokens',
    pattern: /(?<![A-Za-z0-9_-])(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}/g,
    literals: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxo-', 'xoxs-', 'xoxr-', 'xoxe-', 'xapp-'],
    example: 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp',
  },
  {
    id: 'slack-webhook',
    description: 'Slack incoming-webhook and workflow URLs (the path is the secret)',
    pattern: /(?<pre>hooks\.slack\.com\/(?:services|workflows|triggers)\/)(?<secret>[A-Za-z0-9_/-]{16,})/g,
    literals: ['hooks.slack.com/'],
    example: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX',
  },
  {
    id: 'discord-webhook',
    description: 'Discord webhook URLs (the last path part is the secret)',
    pattern: /(?<pre>discord(?:app)?\.com\/api\/webhooks\/[0-9]{1,24}\/)(?<secret>[A-Za-z0-9_-]{20,})/g,
    literals: ['discord.com/api/webhooks/', 'discordapp.com/api/webhooks/'],
    example: `https://discord.com/api/webhooks/123456789/${A36}`,
  },
  {
    id: 'telegram-bot-token',
    description: 'Telegram bot API token',
    pattern: /(?<![A-Za-z0-9_:-])[0-9]{6,12}:AA[A-Za-z0-9_-]{32,}/g,
    literals: [':AA'],
    example: `123456789:AA${A36}`,
  },
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id (long-term and temporary)',
    pattern: /(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    literals: ['A3T', 'AKIA', 'ASIA', 'ABIA', 'ACCA'],
    example: 'AKIAIOSFODNN7EXAMPLE',
  },
  {
    id: 'jwt',
    description: 'JSON Web Token (header, payload and signature)',
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
    literals: ['eyJ'],
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  },
  {
    id: 'google-api-key',
    description: 'Google API key',
    pattern: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}/g,
    literals: ['AIza'],
    example: 'AIzaSy0123456789abcdefghijklmnopqrstuvw',
  },
  {
    id: 'stripe-key',
    description: 'Stripe secret and restricted keys',
    pattern: /(?<![A-Za-z0-9_])[rs]k_(?:live|test)_[A-Za-z0-9]{10,}/g,
    literals: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'],
    example: 'sk_live_0123456789abcdef',
  },
  {id: 'npm-token', description: 'npm access token', pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36,}/g, literals: ['npm_'], example: `npm_${A36}`},
  {
    id: 'pypi-token',
    description: 'PyPI upload token',
    pattern: /(?<![A-Za-z0-9_-])pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}/g,
    literals: ['pypi-AgEIcHlwaS5vcmc'],
    example: `pypi-AgEIcHlwaS5vcmc${A36}`,
  },
  {
    id: 'docker-hub-token',
    description: 'Docker Hub personal access token',
    pattern: /(?<![A-Za-z0-9_])dckr_pat_[A-Za-z0-9_-]{20,}/g,
    literals: ['dckr_pat_'],
    example: `dckr_pat_${A36}`,
  },
  {
    id: 'vault-token',
    description: 'HashiCorp Vault service, batch and recovery tokens',
    pattern: /(?<![A-Za-z0-9_.])hv[sbr]\.[A-Za-z0-9_-]{24,}/g,
    literals: ['hvs.', 'hvb.', 'hvr.'],
    example: 'hvs.CAESIJ0123456789abcdefgh',
  },
  {
    id: 'sendgrid-key',
    description: 'SendGrid API key',
    pattern: /(?<![A-Za-z0-9_.-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/g,
    literals: ['SG.'],
    example: `SG.${'Ab0'.repeat(7)}x.${'Ab0'.repeat(14)}x`,
  },
  {
    id: 'openai-key',
    description: 'OpenAI project, service-account and admin keys',
    pattern: /(?<![A-Za-z0-9_-])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}/g,
    literals: ['sk-proj-', 'sk-svcacct-', 'sk-admin-'],
    example: `sk-proj-${A36}`,
  },
  {
    id: 'anthropic-key',
    description: 'Anthropic API and admin keys',
    pattern: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g,
    literals: ['sk-ant-'],
    example: `sk-ant-api03-${A36}`,
  },
  {
    id: 'huggingface-token',
    description: 'Hugging Face access token',
    pattern: /(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{34,}/g,
    literals: ['hf_'],
    example: `hf_${A36}`,
  },
  {
    id: 'digitalocean-token',
    description: 'DigitalOcean personal, OAuth and refresh tokens',
    pattern: /(?<![A-Za-z0-9_])do[opr]_v1_[a-f0-9]{64}/g,
    literals: ['dop_v1_', 'doo_v1_', 'dor_v1_'],
    example: `dop_v1_${'0123456789abcdef'.repeat(4)}`,
  },
  {
    id: 'shopify-token',
    description: 'Shopify access, custom-app, private-app tokens and shared secrets',
    pattern: /(?<![A-Za-z0-9_])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}/g,
    literals: ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    example: `shpat_${'0123456789abcdef'.repeat(2)}`,
  },
  {
    id: 'age-secret-key',
    description: 'age encryption secret key',
    pattern: /AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}/g,
    literals: ['AGE-SECRET-KEY-1'],
    example: `AGE-SECRET-KEY-1${'QPZRY9X8GF'.repeat(5)}2TVDW0S3`,
  },
  {
    id: 'authorization-header',
    description: 'An HTTP Authorization or Proxy-Authorization header: the credentials after the scheme, to the end of the line',
    pattern:
      /(?<pre>(?<![A-Za-z0-9_.-])(?:proxy-)?authorization["']?[ \t]{0,8}[:=][ \t]{0,8}["']?(?:(?:bearer|basic|digest|token|splunk|negotiate|ntlm|apikey|key|oauth|aws4-hmac-sha256)[ \t]{1,8})?)(?<secret>[^\s"'][^\r\n"']*)/gi,
    literals: ['authorization'],
    example: 'Authorization: Splunk 00000000-0000-0000-0000-000000000000',
  },
  {
    id: 'bearer-token',
    description: 'A bearer or Basic credential after its scheme word, outside a header (it must hold a digit)',
    pattern: /(?<pre>(?<![A-Za-z0-9_-])(?:bearer|basic)[ \t]{1,8})(?<secret>(?=[A-Za-z0-9._~+/=-]{0,512}[0-9])[A-Za-z0-9._~+/-]{8,}={0,2})/gi,
    literals: ['bearer', 'basic'],
    example: 'Bearer abc.def-123',
  },
];

/** PEM private key blocks: from the BEGIN line to the matching END line (or the end of the text). */
export const PRIVATE_KEY_BEGIN = /-----BEGIN (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY(?: BLOCK)?-----/g;
