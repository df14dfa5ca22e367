/**
 * The secret detectors: one list shared by log sanitizing, audit redaction,
 * the policy's `redact` decisions and response inspection. Each kind name is
 * stable: it appears in `[REDACTED:<kind>]` markers and as the `detector`
 * label of portcullis_redactions_total.
 */

export interface SecretDetector {
  kind: string;
  /** Global regex; the matched text (or only group `secret` when present) is replaced. */
  pattern: RegExp;
  /** A cheap test that any match must pass: most text matches no hint, so no pattern runs. */
  hint: RegExp;
  /** Off unless a policy names it in `redact` (personal data rather than credentials). */
  optIn?: boolean;
  /** Extra check on a candidate match (and its `secret` group), e.g. the Luhn checksum of a card number. */
  accept?: (match: string, secret: string | undefined) => boolean;
}

/** Luhn checksum: cuts false positives on long digit runs that are not card numbers. */
function luhnValid(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Names of keys whose value is a credential, as a regex source: a key ending
 * in one of these (db_password, X-Api-Key, clientSecret, AUTH_TOKEN). A bare
 * `pwd` is the working directory (PWD=/home/...), so only a prefixed one counts.
 */
const CREDENTIAL_NAME = String.raw`(?:pass(?:word|wd|phrase)|secret|token|api[_.-]?key|access[_.-]?key|private[_.-]?key|secret[_.-]?key|credentials?|[a-z0-9][_.-]pwd)`;
const CREDENTIAL_KEY = new RegExp(String.raw`^[\w.-]*?${CREDENTIAL_NAME}$`, 'i');

/** A template or reference in place of a value: <token>, ${VAR}, {{ x }}, $VAR, %VAR%, [REDACTED:...], { env: ... }, `a${b}`. */
const TEMPLATE = /^(?:[<[{(]|\$\w|%\w+%$)|\$\{|\{\{/;
/** Masks and words that stand for a credential rather than being one. */
const PLACEHOLDER = /^(?:(.)\1*|[*xX•._#?-]+|null|undefined|none|nil|true|false)$/i;
const PLACEHOLDER_WORD = /changeme|change[_-]me|placeholder|example|sample|dummy|redacted|your[_-]|xxxx|\*\*\*|\.\.\.|…|pass(?:word|wd)|secret|token/i;
/** A dotted name or a call (process.env.DB_PASSWORD, getToken()): code in a document, not a value. */
const CODE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$|^[\w$.]+\(.*\)$/;

/**
 * A value that stands for a credential: a template or reference (TEMPLATE), a
 * mask (***, xxxxxxxx), a placeholder word (changeme, your-api-key,
 * example-token...) or code (process.env.X, getToken()).
 */
function isPlaceholder(value: string): boolean {
  return TEMPLATE.test(value) || PLACEHOLDER.test(value) || PLACEHOLDER_WORD.test(value) || CODE.test(value);
}

/** Whether a value under a credential key is worth a redaction: at least 8 characters, not a placeholder. */
export function isCredentialValue(value: string): boolean {
  return value.length >= 8 && !isPlaceholder(value);
}

/**
 * Order matters: whole blocks and headers first (so a bearer token inside an
 * Authorization header is reported once, as the header), specific prefixes
 * before generic ones (sk-ant- before sk-).
 */
export const SECRET_DETECTORS: readonly SecretDetector[] = [
  {
    kind: 'pem-private-key',
    hint: /-----BEGIN/,
    // An unterminated block (cut log line) is redacted to the end of the text.
    // `+` as well as a space: the header form-encoded in a query string.
    pattern: /-----BEGIN[ +](?:[A-Z0-9]+[ +])*PRIVATE[ +]KEY-----[\s\S]*?(?:-----END[ +](?:[A-Z0-9]+[ +])*PRIVATE[ +]KEY-----|$)/g,
  },
  {
    kind: 'authorization-header',
    hint: /authorization/i,
    pattern: /\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?<secret>[^\r\n"']+)/gi,
    // Documents show `Authorization: Bearer <token>`; a real bearer token is still caught by bearer-token.
    accept: (_match, secret) => secret !== undefined && !TEMPLATE.test(secret.replace(/^[A-Za-z]+\s+/, '')),
  },
  {
    kind: 'cookie-header',
    hint: /cookie/i,
    pattern: /\b(?:set-)?cookie["']?\s*[:=]\s*["']?(?<secret>[^\r\n"']+)/gi,
  },
  { kind: 'jwt',
    hint: /eyJ/, pattern: /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g },
  { kind: 'bearer-token',
    hint: /bearer/i,
    // A WWW-Authenticate (or Proxy-Authenticate) challenge names the scheme and its parameters, not a credential.
    pattern: /(?<!(?:www|proxy)-authenticate["']?\s*[:=]\s*["']?)\bbearer\s+(?<secret>[A-Za-z0-9._~+/=-]{8,})/gi },
  { kind: 'url-password',
    hint: /:\/\//, pattern: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:@/]{0,256}:(?<secret>[^\s@/]{1,256})@/gi },
  { kind: 'aws-access-key',
    hint: /A(?:KIA|SIA|BIA|CCA|3T)/, pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b/g },
  {
    kind: 'aws-secret-key',
    hint: /aws_?secret/i,
    pattern: /\baws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?(?<secret>[A-Za-z0-9/+=]{40})\b/gi,
  },
  { kind: 'github-token',
    hint: /gh[pousr]_|github_pat_/, pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { kind: 'slack-token',
    hint: /xox/, pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,255}/g },
  { kind: 'slack-webhook',
    hint: /hooks\.slack\.com/, pattern: /\bhttps:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{8,255}/g },
  { kind: 'stripe-key',
    hint: /k_(?:live|test)_/, pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,255}\b/g },
  { kind: 'google-api-key',
    hint: /AIza/, pattern: /\bAIza[0-9A-Za-z_-]{35}/g },
  { kind: 'google-oauth-token',
    hint: /ya29\./, pattern: /\bya29\.[0-9A-Za-z_-]{20,}/g },
  { kind: 'anthropic-key',
    hint: /sk-ant-/, pattern: /\bsk-ant-[A-Za-z0-9_-]{20,255}/g },
  { kind: 'openai-key',
    hint: /sk-/, pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,255}/g },
  {
    // Last of the credentials: a known format inside the value is reported as itself.
    // key = value, key: value, "key": "value", key=value&... (env lines, headers, JSON text, query strings, --flags);
    // a value in quotes (", ' or a Markdown `) runs to the closing one.
    kind: 'generic-credential',
    hint: /pass|pwd|secret|token|key|credential/i,
    pattern: new RegExp(
      String.raw`(?<![\w.-])[\w.-]*?${CREDENTIAL_NAME}\\?["'\x60]?[ \t]*[:=][ \t]*\\?["'\x60]?` +
        String.raw`(?<secret>(?<=")[^"\\\r\n]{1,512}(?=\\?")|(?<=')[^'\\\r\n]{1,512}(?=\\?')|(?<=\x60)[^\x60\r\n]{1,512}(?=\x60)|[^\s"'\x60\\&,;)}\]>]{1,512})`,
      'gi',
    ),
    accept: (_match, secret) => secret !== undefined && isCredentialValue(secret),
  },
  { kind: 'email',
    hint: /@/, optIn: true, pattern: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b/g },
  { kind: 'credit-card',
    hint: /\d{4}/, optIn: true, pattern: /\b\d(?:[ -]?\d){12,18}\b/g, accept: luhnValid },
];

/** Object keys whose value is a secret whatever it looks like, by lower-cased, separator-free name. */
const SENSITIVE_KEYS: ReadonlyMap<string, string> = new Map([
  ['authorization', 'authorization-header'],
  ['proxyauthorization', 'authorization-header'],
  ['cookie', 'cookie-header'],
  ['setcookie', 'cookie-header'],
  ['password', 'sensitive-field'],
  ['passwd', 'sensitive-field'],
  ['secret', 'sensitive-field'],
  ['clientsecret', 'sensitive-field'],
  ['apikey', 'sensitive-field'],
  ['xapikey', 'sensitive-field'],
  ['token', 'sensitive-field'],
  ['accesstoken', 'sensitive-field'],
  ['refreshtoken', 'sensitive-field'],
  ['idtoken', 'sensitive-field'],
  ['privatekey', 'sensitive-field'],
]);

/**
 * The detector kind that owns a key's value, or undefined for an ordinary key:
 * a secret-named key owns any value; a key that merely ends in a credential
 * name (db_password, clientSecret) owns a string `value` that passes
 * isCredentialValue.
 */
export function sensitiveKeyKind(key: string, value?: unknown): string | undefined {
  const kind = SENSITIVE_KEYS.get(key.toLowerCase().replace(/[-_\s]/g, ''));
  if (kind !== undefined) return kind;
  return typeof value === 'string' && CREDENTIAL_KEY.test(key) && isCredentialValue(value) ? 'generic-credential' : undefined;
}

/** Kinds the sanitizer reports for neutralised characters (not secrets). */
export const CHARACTER_KINDS = ['ansi-escape', 'control-char', 'line-break', 'bidi-control', 'zero-width'] as const;

/** Every kind a finding can carry: bounded, so safe as a metric label. */
export const DETECTOR_KINDS: readonly string[] = [
  ...new Set([
    ...SECRET_DETECTORS.map((d) => d.kind),
    'sensitive-field',
    'policy-path',
    'truncated',
    ...CHARACTER_KINDS,
  ]),
];
