/**
 * A fake Google Secret Manager on 127.0.0.1, with the OAuth token endpoint and the metadata server a worker gets its
 * access token from, so that the gcp backend's tests run google-auth-library and the REST calls over real HTTP
 * against something that refuses what Google refuses.
 *
 *   const fake = await startFakeGcpSecrets({ project: 'acme-prod' });
 *   const key = serviceAccountKey(fake, 'rsync@acme-prod.iam.gserviceaccount.com')   // the key file's JSON
 *   fake.add('northwind-shopify', '…')   fake.disable(s, 1)   fake.deny(s)   fake.throttle(2)   fake.corrupt(1)
 *   fake.url   fake.tokens   fake.accesses   fake.close()
 *
 * What it does, and where Google says so:
 * - POST /token, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`: the JWT's header is
 *   `{"alg":"RS256","typ":"JWT"}`, its claims iss (the service account's email), scope, aud
 *   (https://oauth2.googleapis.com/token), exp and iat ("a maximum of 1 hour after the issued time"); the signature
 *   is verified with the public key of the key the test made (trust()). The answer is `{ access_token, expires_in,
 *   token_type: "Bearer" }`; a refusal is 400 `{ error: "invalid_grant", error_description: "Invalid JWT
 *   Signature." }` (or "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe…",
 *   or an unknown account), an unknown grant type 400 unsupported_grant_type —
 *   https://developers.google.com/identity/protocols/oauth2/service-account#httprest (Preparing to make an
 *   authorized API call, Handling the response, "invalid_grant").
 * - GET /computeMetadata/v1/instance/service-accounts/default/token, only with `Metadata-Flavor: Google` (403
 *   otherwise), answered with that header too: the metadata server's token for the machine's service account —
 *   https://cloud.google.com/compute/docs/access/authenticate-workloads#applications and
 *   https://cloud.google.com/compute/docs/metadata/querying-metadata ("All requests … must contain the
 *   Metadata-Flavor: Google header").
 * - GET /v1/projects/{project}/secrets/{secret}/versions/{version}:access with `Authorization: Bearer <token>` (a
 *   token this fake issued, unexpired; else 401 UNAUTHENTICATED "Request had invalid authentication credentials…"):
 *   `{ name: "projects/<number>/secrets/S/versions/N", payload: { data: <base64>, dataCrc32c: "<int64>" } }`;
 *   `latest` is "an alias to the most recently created SecretVersion"; the project by id or number —
 *   https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access and the
 *   SecretPayload reference (dataCrc32c: "The CRC32C value is encoded as a Int64").
 * - Errors in Google's shape `{ error: { code, message, status } }` (https://cloud.google.com/apis/design/errors):
 *   404 NOT_FOUND ("Secret [projects/N/secrets/S] not found or has no versions.", "Secret Version [...] not
 *   found."), 403 PERMISSION_DENIED ("Permission 'secretmanager.versions.access' denied for resource '...' (or it
 *   may not exist)."), 400 FAILED_PRECONDITION for a disabled version ("Secret Version [...] is in DISABLED
 *   state."), 429 RESOURCE_EXHAUSTED (quota exceeded) with a Retry-After header.
 * Production code (a demo may start it): no test framework here.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32c } from './crc32c.js';

export interface FakeGcpSecretsOptions {
  project?: string;
  projectNumber?: string;
  /** The clock in milliseconds. */
  now?: () => number;
  /** Lifetime of the access tokens issued, in seconds (Google's: 3599). */
  tokenSeconds?: number;
}

export interface FakeGcpSecrets {
  readonly url: string;
  readonly project: string;
  readonly projectNumber: string;
  /** Access tokens issued (token endpoint and metadata server), and access calls answered with a payload. */
  readonly tokens: number;
  readonly accesses: number;
  /** Trust this public key as the service account `email`'s (the key the test generated). */
  trust(email: string, publicKey: KeyObject | string): void;
  /** A new version of the secret (created if need be): `latest` follows it. Returns the version number. */
  add(secret: string, value: string): number;
  disable(secret: string, version: number): void;
  /** The worker's identity may no longer access the secret (403 PERMISSION_DENIED). */
  deny(secret: string): void;
  /** The next `n` access calls are 429 RESOURCE_EXHAUSTED, with Retry-After `seconds`. */
  throttle(n: number, seconds?: number): void;
  /** The next `n` payloads carry a wrong dataCrc32c. */
  corrupt(n: number): void;
  /** Every access token issued so far stops being accepted (as a revocation does). */
  revokeTokens(): void;
  close(): Promise<void>;
}

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const AUDIENCE = 'https://oauth2.googleapis.com/token';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

class GoogleFault extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

const b64json = (part: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
};

export async function startFakeGcpSecrets(o: FakeGcpSecretsOptions = {}): Promise<FakeGcpSecrets> {
  const project = o.project ?? 'acme-prod';
  const projectNumber = o.projectNumber ?? '428190773215';
  const now = o.now ?? Date.now;
  const lifetime = o.tokenSeconds ?? 3599;
  const keys = new Map<string, KeyObject>();
  const issued = new Map<string, number>();
  const secrets = new Map<string, { versions: { value: string; enabled: boolean }[]; denied: boolean }>();
  let tokens = 0;
  let accesses = 0;
  let throttled = 0;
  let throttleSeconds = 1;
  let corrupted = 0;

  const issue = (): { access_token: string; expires_in: number; token_type: string } => {
    const t = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    issued.set(t, now() + lifetime * 1000);
    tokens++;
    return { access_token: t, expires_in: lifetime, token_type: 'Bearer' };
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };

  /** The OAuth refusal of a JWT grant, or undefined when the assertion is good. */
  function refuseGrant(form: URLSearchParams): string | undefined {
    if (form.get('grant_type') !== GRANT) return 'unsupported_grant_type';
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return 'Invalid JWT: malformed';
    const header = b64json(parts[0]);
    const claims = b64json(parts[1]);
    if (!header || !claims || header.alg !== 'RS256') return 'Invalid JWT: malformed';
    const key = typeof claims.iss === 'string' ? keys.get(claims.iss) : undefined;
    if (!key) return 'Invalid grant: account not found';
    const good = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url'));
    if (!good) return 'Invalid JWT Signature.';
    const t = now() / 1000;
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (!(exp > t && iat <= t + 300 && exp - iat <= 3600))
      return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
    if (claims.aud !== AUDIENCE) return `Invalid JWT: Failed audience check. The right audience is ${AUDIENCE}`;
    const scopes = String(claims.scope ?? '').split(/\s+/);
    if (!scopes.includes(SCOPE)) return 'Invalid JWT: no scope the Secret Manager API accepts';
    return undefined;
  }

  function access(req: IncomingMessage, path: string): Record<string, unknown> {
    const auth = String(req.headers.authorization ?? '');
    const bearer = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const until = issued.get(bearer);
    if (until === undefined || until <= now())
      throw new GoogleFault(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      );
    const m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(path);
    if (!m) throw new GoogleFault(404, 'NOT_FOUND', 'The requested URL was not found on this server.');
    const [, p, secret, version] = m.map(decodeURIComponent);
    const resource = `projects/${projectNumber}/secrets/${secret}`;
    if (p !== project && p !== projectNumber)
      throw new GoogleFault(
        403,
        'PERMISSION_DENIED',
        `Permission 'secretmanager.versions.access' denied for resource 'projects/${p}/secrets/${secret}/versions/${version}' (or it may not exist).`,
      );
    if (throttled > 0) {
      throttled--;
      throw new GoogleFault(
        429,
        'RESOURCE_EXHAUSTED',
        `Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute per project' of service 'secretmanager.googleapis.com' for consumer 'project_number:${projectNumber}'.`,
        throttleSeconds,
      );
    }
    const s = secrets.get(secret);
    if (s?.denied)
      throw new GoogleFault(
        403,
        'PERMISSION_DENIED',
        `Permission 'secretmanager.versions.access' denied for resource '${resource}/versions/${version}' (or it may not exist).`,
      );
    if (!s || s.versions.length === 0)
      throw new GoogleFault(404, 'NOT_FOUND', `Secret [${resource}] not found or has no versions.`);
    const n = version === 'latest' ? s.versions.length : /^[1-9]\d*$/.test(version) ? Number(version) : 0;
    const v = s.versions[n - 1];
    if (!v) throw new GoogleFault(404, 'NOT_FOUND', `Secret Version [${resource}/versions/${version}] not found.`);
    if (!v.enabled)
      throw new GoogleFault(
        400,
        'FAILED_PRECONDITION',
        `Secret Version [${resource}/versions/${n}] is in DISABLED state.`,
      );
    const bytes = Buffer.from(v.value, 'utf8');
    let sum = crc32c(bytes);
    if (corrupted > 0) {
      corrupted--;
      sum = (sum + 1) >>> 0;
    }
    accesses++;
    return { name: `${resource}/versions/${n}`, payload: { data: bytes.toString('base64'), dataCrc32c: String(sum) } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && u.pathname === '/token') {
      const refusal = refuseGrant(new URLSearchParams(body));
      if (refusal === 'unsupported_grant_type')
        return json(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' });
      if (refusal) return json(res, 400, { error: 'invalid_grant', error_description: refusal });
      return json(res, 200, issue());
    }
    if (req.method === 'GET' && u.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
      if (req.headers['metadata-flavor'] !== 'Google') {
        res.writeHead(403, { 'content-type': 'text/html; charset=UTF-8', 'metadata-flavor': 'Google' });
        res.end('Missing Metadata-Flavor:Google header.');
        return;
      }
      return json(res, 200, issue(), { 'metadata-flavor': 'Google' });
    }
    if (req.method === 'GET' && u.pathname.startsWith('/v1/')) {
      try {
        return json(res, 200, access(req, u.pathname));
      } catch (e) {
        const f = e instanceof GoogleFault ? e : new GoogleFault(500, 'INTERNAL', 'Internal error encountered.');
        return json(
          res,
          f.code,
          { error: { code: f.code, message: f.message, status: f.status } },
          f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {},
        );
      }
    }
    json(res, 404, {
      error: { code: 404, message: 'The requested URL was not found on this server.', status: 'NOT_FOUND' },
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const secretOf = (name: string) => {
    const s = secrets.get(name);
    if (!s) throw new Error(`no secret ${name} in the fake`);
    return s;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    project,
    projectNumber,
    get tokens() {
      return tokens;
    },
    get accesses() {
      return accesses;
    },
    trust(email, publicKey) {
      keys.set(email, typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey);
    },
    add(secret, value) {
      const s = secrets.get(secret) ?? { versions: [], denied: false };
      secrets.set(secret, s);
      s.versions.push({ value, enabled: true });
      return s.versions.length;
    },
    disable(secret, version) {
      const v = secretOf(secret).versions[version - 1];
      if (!v) throw new Error(`no version ${version} of ${secret} in the fake`);
      v.enabled = false;
    },
    deny(secret) {
      secretOf(secret).denied = true;
    },
    throttle(n, seconds = 1) {
      throttled = n;
      throttleSeconds = seconds;
    },
    corrupt(n) {
      corrupted = n;
    },
    revokeTokens() {
      issued.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A service-account key file for `email`, as the console downloads it, with a new RSA key whose public half the
 * fake trusts (unless `trusted` is false: a key the fake never saw, whose grants it refuses); token_uri is the fake's.
 */
export function serviceAccountKey(fake: FakeGcpSecrets, email: string, trusted = true): Record<string, string> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (trusted) fake.trust(email, publicKey);
  return {
    type: 'service_account',
    project_id: fake.project,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: email,
    client_id: '1048596912457713',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: `${fake.url}/token`,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    universe_domain: 'googleapis.com',
  };
}

/** The gcp backend's settings that reach this fake, with the key file at `credentialsRef` (e.g. file:gcp/sa.json). */
export const fakeGcpSettings = (fake: FakeGcpSecrets, credentialsRef?: string): Record<string, unknown> => ({
  project: fake.project,
  endpoint: fake.url,
  ...(credentialsRef ? { credentialsRef } : {}),
});
