/**
 * Literal secrets: credentials must be written as `{ secretRef: "env:NAME" }` (or `file:`), never by value. This
 * finds values that look like well-known tokens and keys anywhere in a document, and string values under fields
 * whose names say they hold a secret. It never repeats the value it found in a message.
 */

interface TokenPattern {
  name: string;
  re: RegExp;
}

const TOKENS: TokenPattern[] = [
  { name: 'a Shopify access token', re: /\bshp(at|ca|pa|ss)_[0-9a-fA-F]{32}\b/ },
  { name: 'a Stripe secret key', re: /\b(sk|rk)_(live|test)_[0-9A-Za-z]{16,}\b/ },
  { name: 'a Stripe webhook secret', re: /\bwhsec_[0-9A-Za-z]{16,}\b/ },
  { name: 'a WooCommerce API key', re: /\b(ck|cs)_[0-9a-f]{40}\b/ },
  { name: 'a Square access token', re: /\bEAAA[0-9A-Za-z_-]{40,}\b/ },
  { name: 'an AWS access key id', re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: 'a private key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { name: 'a Slack token', re: /\bxox[abprs]-[0-9A-Za-z-]{10,}\b/ },
  {
    name: 'a Slack incoming webhook URL',
    re: /\bhooks\.slack\.com\/(services|workflows|triggers)\/[0-9A-Za-z_/-]{8,}/,
  },
  { name: 'a GitHub token', re: /\b(ghp|gho|ghs|ghu)_[0-9A-Za-z]{36}\b|\bgithub_pat_[0-9A-Za-z_]{50,}\b/ },
  { name: 'a JSON Web Token', re: /\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{8,}/ },
  { name: 'a URL with a password', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s@/]+@/ },
  { name: 'a bearer token', re: /\bBearer\s+[0-9A-Za-z._~+/-]{20,}=*/ },
];

/** All token patterns in one: most strings match none, and one test is much cheaper than twelve. */
const ANY_TOKEN = new RegExp(TOKENS.map((t) => `(?:${t.re.source})`).join('|'));

/** Field names that hold secrets whatever their value looks like. */
const SECRET_FIELD =
  /^(password|passwd|secret|clientSecret|client_secret|apiKey|api_key|apiSecret|accessToken|access_token|refreshToken|token|privateKey|licenseKey|consumerSecret|consumerKey|tokenSecret|webhookSecret|signingSecret|signatureKey|webhookSignatureKey|routingKey|routing_key|integrationKey)$/i;

export interface SecretFinding {
  path: (string | number)[];
  what: string;
}

/** Walk plain data and report literal secrets; `{ secretRef: … }` objects are references and are skipped. */
export function findLiteralSecrets(
  value: unknown,
  at: (string | number)[] = [],
  out: SecretFinding[] = [],
): SecretFinding[] {
  if (typeof value === 'string') {
    const field = at[at.length - 1];
    if (typeof field === 'string' && SECRET_FIELD.test(field) && value.length > 0 && !looksLikeReference(value)) {
      out.push({ path: at, what: `a literal value in the secret field "${field}"` });
      return out;
    }
    if (value.length < 8 || !ANY_TOKEN.test(value)) return out; // no pattern matches fewer than 8 characters
    for (const t of TOKENS) {
      if (t.re.test(value)) {
        out.push({ path: at, what: t.name });
        break;
      }
    }
    return out;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => findLiteralSecrets(v, [...at, i], out));
    return out;
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.secretRef === 'string' && Object.keys(obj).length === 1) return out;
    for (const [k, v] of Object.entries(obj)) findLiteralSecrets(v, [...at, k], out);
  }
  return out;
}

/** `${{ with.token }}` in a template, or an `env:`/`file:` string written without `secretRef:`: not a literal. */
function looksLikeReference(v: string): boolean {
  return /^\$\{\{.*\}\}$/.test(v.trim());
}

/** Every `{ secretRef: "…" }` in plain data, with its path (to the object holding `secretRef`). */
export function findSecretRefs(
  value: unknown,
  at: (string | number)[] = [],
  out: { path: (string | number)[]; ref: string }[] = [],
): { path: (string | number)[]; ref: string }[] {
  if (Array.isArray(value)) value.forEach((v, i) => findSecretRefs(v, [...at, i], out));
  else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.secretRef === 'string') out.push({ path: at, ref: obj.secretRef });
    else for (const [k, v] of Object.entries(obj)) findSecretRefs(v, [...at, k], out);
  }
  return out;
}
