/**
 * HashiCorp Vault behind `{ secretRef: "vault:PATH#FIELD" }`: the field FIELD of the secret PATH in a KV version 2
 * secrets engine (rsync.yaml `spec.secrets.vault`: address, mount — default `secret` —, an optional namespace, and a
 * token or an AppRole).
 *
 *   read      GET  /v1/<mount>/data/<path>        → { data: { data: { <field>: "…" }, metadata: { version } } }
 *             https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version
 *   token     X-Vault-Token on every request; X-Vault-Namespace when a namespace is set
 *             https://developer.hashicorp.com/vault/api-docs#authentication, …/vault/docs/enterprise/namespaces
 *   AppRole   POST /v1/auth/<mount>/login { role_id, secret_id } → { auth: { client_token, lease_duration } }
 *             https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle
 *   errors    { "errors": ["…"] } with 400 (a bad login), 403 (permission denied: also a token that expired or was
 *             revoked), 404 (no such secret, or its latest version deleted), 429 (rate limited), 5xx (503: sealed)
 *             https://developer.hashicorp.com/vault/api-docs#http-status-codes
 *
 * The AppRole's client token is kept until 80% of its lease has passed, then the role logs in again; a 403 on a
 * token it logged in for is answered by one fresh login and the same request again (a token revoked early). The
 * token, the role's ids and every value read are secrets: they are remembered for redaction, and no message here
 * carries one (Vault's own error texts never contain them).
 */
import { parseSecretRef } from '../../model/secret-ref.js';
import { rememberSecret, resolveSecret } from '../secrets.js';
import { ConnectorError } from '../types.js';
import type { SecretManager, SecretManagerFactory } from './types.js';

const TIMEOUT_MS = 10_000;
/** Log in again once this share of the token's lease has passed. */
const RENEW_AT = 0.8;

interface VaultSettings {
  address: string;
  mount: string;
  namespace?: string;
  token?: unknown;
  appRole?: { roleId: unknown; secretId: unknown; mount: string };
}

function settingsOf(s: Record<string, unknown>): VaultSettings {
  const address = typeof s.address === 'string' ? s.address.replace(/\/+$/, '') : '';
  if (!/^https?:\/\//.test(address))
    throw new ConnectorError('vault: spec.secrets.vault.address in rsync.yaml must be an http(s) URL', false);
  const role = s.appRole as Record<string, unknown> | undefined;
  if (s.token === undefined && !role)
    throw new ConnectorError(
      'vault: spec.secrets.vault in rsync.yaml gives no credentials: add token: { secretRef: "env:VAULT_TOKEN" } or appRole: { roleId, secretId }',
      false,
    );
  return {
    address,
    mount: typeof s.mount === 'string' ? s.mount : 'secret',
    namespace: typeof s.namespace === 'string' ? s.namespace : undefined,
    token: s.token,
    appRole: role
      ? { roleId: role.roleId, secretId: role.secretId, mount: typeof role.mount === 'string' ? role.mount : 'approle' }
      : undefined,
  };
}

/** A credential of the manager itself: env: (from the environment the manager was made with) or file:. */
function credential(ref: unknown, env: NodeJS.ProcessEnv): string {
  const r = (ref as { secretRef?: unknown } | undefined)?.secretRef;
  const parsed = typeof r === 'string' ? parseSecretRef(r) : undefined;
  if (parsed?.kind === 'env') {
    const v = env[parsed.name];
    if (!v)
      throw new ConnectorError(
        `vault: secret ${r} is not set: export ${parsed.name} in the worker's environment`,
        false,
      );
    rememberSecret(v);
    return v;
  }
  if (parsed?.kind === 'file') return resolveSecret(ref);
  throw new ConnectorError('vault: its credentials are { secretRef: "env:NAME" } or { secretRef: "file:NAME" }', false);
}

/** `customers/northwind/shopify#token` → the path and the field (undefined: the secret's only field). */
export function vaultName(name: string): { path: string; field?: string } {
  const hash = name.lastIndexOf('#');
  return hash < 0 ? { path: name } : { path: name.slice(0, hash), field: name.slice(hash + 1) || undefined };
}

const segments = (p: string) =>
  p
    .split('/')
    .filter((x) => x !== '')
    .map(encodeURIComponent)
    .join('/');

export const vaultManager: SecretManagerFactory = (raw, env): SecretManager => {
  const s = settingsOf(raw);
  let login: { token: string; renewAt: number } | undefined;

  async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers['x-vault-token'] = token;
    if (s.namespace) headers['x-vault-namespace'] = s.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(`${s.address}/v1/${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      throw new ConnectorError(`vault: ${method} ${s.address}: ${(e as Error).cause ?? (e as Error).message}`, true);
    }
  }

  /** Vault's `errors` as one phrase. */
  async function errorsOf(res: Response): Promise<string> {
    const text = await res.text().catch(() => '');
    try {
      const errors = (JSON.parse(text) as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length) return errors.map(String).join('; ');
    } catch {}
    return `HTTP ${res.status}`;
  }

  function failure(res: Response, what: string, why: string): ConnectorError {
    const after = Number(res.headers.get('retry-after'));
    const transient = res.status === 429 || res.status >= 500;
    return new ConnectorError(
      `vault: ${what}: HTTP ${res.status} (${why})`,
      transient,
      Number.isFinite(after) && after > 0 ? after * 1000 : undefined,
      res.status,
    );
  }

  async function appRoleToken(): Promise<string> {
    const role = s.appRole!;
    if (login && Date.now() < login.renewAt) return login.token;
    const res = await call('POST', `auth/${segments(role.mount)}/login`, undefined, {
      role_id: credential(role.roleId, env),
      secret_id: credential(role.secretId, env),
    });
    if (!res.ok) throw failure(res, `AppRole login at auth/${role.mount}`, await errorsOf(res));
    const auth = ((await res.json()) as { auth?: { client_token?: unknown; lease_duration?: unknown } }).auth;
    if (typeof auth?.client_token !== 'string')
      throw new ConnectorError(`vault: AppRole login at auth/${role.mount} answered no client_token`, true);
    rememberSecret(auth.client_token);
    const lease = Number(auth.lease_duration) || 0;
    login = { token: auth.client_token, renewAt: lease > 0 ? Date.now() + lease * 1000 * RENEW_AT : Infinity };
    return login.token;
  }

  const token = () => (s.appRole ? appRoleToken() : Promise.resolve(credential(s.token, env)));

  return {
    scheme: 'vault',
    async fetch(name: string): Promise<string> {
      const { path, field } = vaultName(name);
      const where = `${s.mount}/data/${path}`;
      let res = await call('GET', `${segments(s.mount)}/data/${segments(path)}`, await token());
      if (res.status === 403 && s.appRole && login) {
        // A token revoked or expired before its lease said: log in once more.
        await res.body?.cancel();
        login = undefined;
        res = await call('GET', `${segments(s.mount)}/data/${segments(path)}`, await token());
      }
      if (res.status === 404) {
        await res.body?.cancel();
        throw new ConnectorError(
          `vault: secret vault:${name} does not exist (GET ${where}: 404): write it with \`vault kv put -mount=${s.mount} ${path} ${field ?? 'value'}=…\`, or correct the reference`,
          false,
          undefined,
          404,
        );
      }
      if (res.status === 403)
        throw new ConnectorError(
          `vault: access to vault:${name} is denied (GET ${where}: 403, ${await errorsOf(res)}): grant the token's policy "read" on ${where}`,
          false,
          undefined,
          403,
        );
      if (!res.ok) throw failure(res, `GET ${where}`, await errorsOf(res));
      const data = ((await res.json()) as { data?: { data?: Record<string, unknown> | null } }).data?.data;
      if (!data || typeof data !== 'object')
        throw new ConnectorError(`vault: secret vault:${name} has no data (its latest version is deleted)`, false);
      const keys = Object.keys(data);
      const key = field ?? (keys.length === 1 ? keys[0] : undefined);
      if (key === undefined)
        throw new ConnectorError(
          `vault: secret vault:${name} has the fields ${keys.join(', ') || '(none)'}: name one, e.g. vault:${path}#${keys[0] ?? 'token'}`,
          false,
        );
      const value = data[key];
      if (typeof value !== 'string' || value === '')
        throw new ConnectorError(
          value === undefined
            ? `vault: secret vault:${path} has no field "${key}" (its fields: ${keys.join(', ')})`
            : `vault: field "${key}" of vault:${path} is not a non-empty string`,
          false,
        );
      rememberSecret(value);
      return value;
    },
  };
};
