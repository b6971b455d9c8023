/**
 * Google Secret Manager as a secret backend: `gcp:<secret>[@version]` or `gcp:projects/P/secrets/S[/versions/V]`.
 *
 *   gcp:northwind-shopify           the latest version, in settings.project
 *   gcp:northwind-shopify@3         version 3 (or a version alias: @prod)
 *   gcp:projects/acme-prod/secrets/northwind-shopify/versions/latest
 *
 * Settings: `{ project?, endpoint?, credentialsRef? }`. `project` is needed for the short form; `endpoint` overrides
 * https://secretmanager.googleapis.com (a regional or private endpoint, or a fake on 127.0.0.1). The OAuth access
 * token comes from google-auth-library: a service-account key named by reference (`credentialsRef: file:gcp/sa.json`,
 * or `{ secretRef: … }`: the key is itself a secret, read through engine/connectors/secrets.ts), or, without one,
 * the metadata server of the machine the worker runs on (GCE, GKE, Cloud Run; GCE_METADATA_HOST overrides its
 * address, as Google's libraries read it). A key file's `token_uri` is honoured: google-auth-library 10 posts the
 * JWT grant to https://oauth2.googleapis.com/token whatever the file says, so a request interceptor sends it to the
 * file's token_uri instead (https, or http only on a loopback address: a test's fake).
 *
 * It calls `GET /v1/{name=projects/*\/secrets/*\/versions/*}:access` (payload.data is base64; `latest` is "an alias
 * to the most recently created SecretVersion", so a rotation is the next fetch's value) and checks the payload
 * against payload.dataCrc32c (CRC-32C, an int64 in JSON) —
 * https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access and the
 * SecretPayload reference. Errors are Google's `{ error: { code, message, status } }`
 * (https://cloud.google.com/apis/design/errors): 404 NOT_FOUND, 403 PERMISSION_DENIED, 401 UNAUTHENTICATED, 400
 * INVALID_ARGUMENT and FAILED_PRECONDITION (a disabled or destroyed version) are permanent; 429 RESOURCE_EXHAUSTED,
 * 5xx, a corrupted payload and network failures transient. Messages name the reference and the fix, never the value;
 * every value returned, the key and each access token are `rememberSecret`ed.
 */
import { Compute, JWT, type OAuth2Client } from 'google-auth-library';
import { isSecretRef, rememberSecret, resolveSecret } from '../secrets.js';
import { ConnectorError } from '../types.js';
import { crc32c } from './crc32c.js';
import type { SecretManager, SecretManagerFactory } from './types.js';

export const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Where google-auth-library 10 posts a service account's JWT grant (it does not read the key's token_uri). */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const DEFAULT_ENDPOINT = 'https://secretmanager.googleapis.com';
const TIMEOUT_MS = 15_000;

/** A version's resource name, in parts. */
export interface GcpSecretName {
  project: string;
  secret: string;
  version: string;
}

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^(latest|[1-9][0-9]*|[A-Za-z0-9_-]{1,63})$/;
const PROJECT = /^[a-z0-9][a-z0-9:.-]{0,62}$/;

/** The version a `gcp:` reference names (the text after `gcp:`), or the reason it names none. */
export function parseGcpSecretName(name: string, project?: string): GcpSecretName | string {
  let p = project;
  let secret: string;
  let version = 'latest';
  if (name.startsWith('projects/')) {
    const m = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(name);
    if (!m) return 'is not projects/P/secrets/S or projects/P/secrets/S/versions/V';
    [, p, secret] = m;
    if (m[3]) version = m[3];
  } else {
    const at = name.indexOf('@');
    secret = at < 0 ? name : name.slice(0, at);
    if (at >= 0) version = name.slice(at + 1);
    if (!p)
      return `needs a project: set settings.project of the gcp secret manager in rsync.yaml, or write gcp:projects/<project>/secrets/${secret || '<secret>'}`;
  }
  if (!PROJECT.test(p)) return `names the project ${p}, which is not a Google Cloud project id or number`;
  if (!SECRET_ID.test(secret))
    return 'names no secret id (letters, digits, - and _, at most 255): write gcp:<secret>[@version]';
  if (!VERSION.test(version)) return `names the version ${version}: write latest, a version number or an alias`;
  return { project: p, secret, version };
}

const permanent = (message: string, kind: 'auth' | 'permanent' = 'permanent', status?: number) =>
  new ConnectorError(message, false, undefined, status, kind);

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A service-account key file, the fields used. */
interface ServiceAccountKey {
  type?: string;
  client_email?: string;
  private_key?: string;
  private_key_id?: string;
  token_uri?: string;
}

/** The credentials reference of the settings as `{ secretRef }`, its text for messages; undefined: none. */
function credentialsRefOf(settings: Record<string, unknown>): { ref: { secretRef: string }; text: string } | undefined {
  const v = settings.credentialsRef;
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return { ref: { secretRef: v }, text: v };
  if (isSecretRef(v)) return { ref: v, text: v.secretRef };
  throw permanent(
    'the gcp secret manager\'s credentialsRef must be a secret reference to a service-account key, e.g. "file:gcp/sa.json"',
  );
}

/** A JWT client of the key `refText` names, its token grant sent to the key's token_uri. */
function serviceAccountClient(keyText: string, refText: string): JWT {
  let key: ServiceAccountKey;
  try {
    key = JSON.parse(keyText);
  } catch {
    key = {};
  }
  if (key.type !== 'service_account' || !key.client_email || !key.private_key)
    throw permanent(
      `the gcp secret manager's credentialsRef ${refText} is not a service-account key (JSON with type service_account, client_email and private_key): create a key for the service account (IAM → Service accounts → Keys) and put that file there`,
      'auth',
    );
  rememberSecret(key.private_key);
  const client = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: [SCOPE] });
  const tokenUri = key.token_uri;
  if (tokenUri && tokenUri !== GOOGLE_TOKEN_URL) {
    const u = URL.canParse(tokenUri) ? new URL(tokenUri) : undefined;
    if (!u || !(u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname))))
      throw permanent(
        `the service-account key in ${refText} has the token_uri ${tokenUri}: it must be https (or http on 127.0.0.1)`,
        'auth',
      );
    client.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(u.href);
        return config;
      },
    });
  }
  return client;
}

/** A failed token request (google-auth-library's GaxiosError, or a network error) as a ConnectorError. */
function tokenFailure(e: unknown, ref: string, from: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = (e ?? {}) as { status?: number; code?: unknown; response?: { status?: number; data?: unknown } };
  const status = err.response?.status ?? err.status;
  const data = (err.response?.data ?? {}) as { error?: unknown; error_description?: unknown };
  const oauth =
    typeof data.error === 'string'
      ? `${data.error}${typeof data.error_description === 'string' ? `: ${data.error_description}` : ''}`
      : undefined;
  if (status !== undefined && status >= 400 && status < 500 && status !== 429)
    return permanent(
      `secret ${ref}: ${from} refused to give the worker an access token (HTTP ${status}${oauth ? `, ${oauth}` : ''}): the service-account key may be deleted or disabled, or the clock of the worker wrong; create a new key`,
      'auth',
      status,
    );
  const what = status !== undefined ? `HTTP ${status}` : typeof err.code === 'string' ? err.code : 'no answer';
  return new ConnectorError(
    `secret ${ref}: ${from} gave no access token (${what}); it is retried`,
    true,
    undefined,
    status,
  );
}

/** Google's error body, `{ error: { code, message, status } }`, as a ConnectorError for `ref`. */
function accessFailure(
  status: number,
  body: unknown,
  ref: string,
  version: string,
  retryAfter: string | null,
): ConnectorError {
  const canonical =
    ((body as { error?: { status?: unknown } })?.error?.status as string | undefined) ?? `HTTP ${status}`;
  const tag = `(${status} ${canonical})`;
  if (status === 404)
    return permanent(
      `secret ${ref} does not exist in Google Secret Manager ${tag}: create ${version} (or its secret), or fix the name`,
      'permanent',
      status,
    );
  if (status === 403)
    return permanent(
      `secret ${ref}: the worker's service account may not read it ${tag}: grant it roles/secretmanager.secretAccessor (secretmanager.versions.access) on the secret`,
      'auth',
      status,
    );
  if (status === 401)
    return permanent(
      `secret ${ref}: Google refused the worker's access token ${tag}: check the service-account key or the machine's service account`,
      'auth',
      status,
    );
  if (status === 429) {
    const after = Number(retryAfter);
    return new ConnectorError(
      `secret ${ref}: Google Secret Manager throttled the worker ${tag}; it is retried`,
      true,
      retryAfter !== null && Number.isFinite(after) && after >= 0 ? after * 1000 : undefined,
      status,
      'throttled',
    );
  }
  if (status >= 500)
    return new ConnectorError(`secret ${ref} could not be read ${tag}; it is retried`, true, undefined, status);
  if (canonical === 'FAILED_PRECONDITION')
    return permanent(
      `secret ${ref}: the version is disabled or destroyed ${tag}: enable it, or name another version`,
      'permanent',
      status,
    );
  return permanent(`secret ${ref} was refused by Google Secret Manager ${tag}`, 'permanent', status);
}

/** `gcp:` references through Google Secret Manager; see the file's header. */
export const openGcpSecretManager: SecretManagerFactory = (settings, _env) => {
  const project = typeof settings.project === 'string' && settings.project ? settings.project : undefined;
  const endpoint = typeof settings.endpoint === 'string' && settings.endpoint ? settings.endpoint : DEFAULT_ENDPOINT;
  if (!URL.canParse(endpoint))
    throw permanent(`the gcp secret manager's endpoint ${endpoint} is not a URL: write e.g. ${DEFAULT_ENDPOINT}`);
  const base = endpoint.replace(/\/+$/, '');
  const credentials = credentialsRefOf(settings);
  const from = credentials
    ? `the token endpoint of the service-account key in ${credentials.text}`
    : 'the metadata server (no credentialsRef is set)';
  let client: OAuth2Client | undefined;

  /** An access token, from the client made on first use (the key read then, and again after a refusal). */
  async function token(ref: string): Promise<string> {
    try {
      client ??= credentials
        ? serviceAccountClient(resolveSecret(credentials.ref), credentials.text)
        : new Compute({ scopes: [SCOPE] });
      const { token: t } = await client.getAccessToken();
      if (!t) throw new ConnectorError(`secret ${ref}: ${from} gave an empty access token; it is retried`, true);
      rememberSecret(t);
      return t;
    } catch (e) {
      client = undefined;
      throw tokenFailure(e, ref, from);
    }
  }

  async function access(url: string, ref: string, bearer: string): Promise<Response> {
    try {
      return await fetch(url, {
        headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: unknown } }).cause?.code;
      const why = typeof cause === 'string' ? cause : (e as Error).name;
      throw new ConnectorError(
        `secret ${ref}: Google Secret Manager at ${base} did not answer (${why}); it is retried`,
        true,
      );
    }
  }

  const manager: SecretManager = {
    scheme: 'gcp',
    async fetch(name: string): Promise<string> {
      const ref = `gcp:${name}`;
      const parsed = parseGcpSecretName(name, project);
      if (typeof parsed === 'string') throw permanent(`secret reference ${ref} ${parsed}`);
      const { project: p, secret, version } = parsed;
      const resource = `projects/${encodeURIComponent(p)}/secrets/${encodeURIComponent(secret)}/versions/${encodeURIComponent(version)}`;
      const url = `${base}/v1/${resource}:access`;
      let res = await access(url, ref, await token(ref));
      if (res.status === 401) {
        // A token revoked before its expiry: one more try with a new one.
        client = undefined;
        await res.body?.cancel();
        res = await access(url, ref, await token(ref));
      }
      const body: unknown = await res.json().catch(() => undefined);
      if (!res.ok)
        throw accessFailure(
          res.status,
          body,
          ref,
          `projects/${p}/secrets/${secret}/versions/${version}`,
          res.headers.get('retry-after'),
        );
      const payload = (body as { payload?: { data?: unknown; dataCrc32c?: unknown } } | undefined)?.payload;
      if (typeof payload?.data !== 'string')
        throw new ConnectorError(
          `secret ${ref}: Google Secret Manager answered without a payload; it is retried`,
          true,
        );
      const bytes = Buffer.from(payload.data, 'base64');
      if (payload.dataCrc32c !== undefined && payload.dataCrc32c !== null) {
        const sum = Number(payload.dataCrc32c);
        if (sum !== crc32c(bytes))
          throw new ConnectorError(
            `secret ${ref}: the payload does not match its dataCrc32c (corrupted on the way); it is retried`,
            true,
          );
      }
      const value = bytes.toString('utf8');
      if (value === '') throw permanent(`secret ${ref} is empty in Google Secret Manager: add a version with a value`);
      rememberSecret(value);
      return value;
    },
    async close(): Promise<void> {
      client = undefined;
    },
  };
  return manager;
};
