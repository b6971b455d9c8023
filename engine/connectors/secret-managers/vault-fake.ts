/**
 * A fake HashiCorp Vault on 127.0.0.1: the KV version 2 reads and the AppRole login the vault secret manager makes,
 * behaving as Vault documents them, so its tests (and the leak test of every backend) exercise its real HTTP code.
 *
 *   const vault = await startFakeVault({ tokens: { 'hvs.root': ['customers/'] } });
 *   vault.put('customers/northwind/shopify', { token: 'v1' });   vault.put(…, { token: 'v2' })  (a new version)
 *   vault.addRole('role-id', 'secret-id', ['customers/'], 60);   vault.url   vault.reads   await vault.close()
 *
 * What it does, and where Vault says so:
 * - GET /v1/<mount>/data/<path> answers `{ data: { data, metadata: { version, created_time, deletion_time,
 *   destroyed } } }` for the latest version; ?version=N for another — https://developer.hashicorp.com/vault/
 *   api-docs/secret/kv/kv-v2#read-secret-version. Each put is the next version (…/kv-v2#create-update-secret), so a
 *   rotation is a put. A path never written: 404 with `{ "errors": [] }`; its latest version deleted
 *   (`deleteLatest`): 404 with the metadata, deletion_time set and data null (as Vault answers it).
 * - The token in X-Vault-Token (https://developer.hashicorp.com/vault/api-docs#authentication): missing, unknown,
 *   expired or revoked, or without a policy that lets it read the path: 403 `{ "errors": ["permission denied"] }`
 *   (https://developer.hashicorp.com/vault/api-docs#http-status-codes: 403 "Forbidden: your authentication details
 *   are either incorrect, you don't have access to this feature, or - if CORS is enabled - you made a cross-origin
 *   request from an origin that is not allowed"). A policy here is a list of path prefixes with read capability.
 * - X-Vault-Namespace: when the fake has a namespace, a request without it (or with another) finds no mount: 404
 *   — https://developer.hashicorp.com/vault/docs/enterprise/namespaces#usage.
 * - POST /v1/auth/approle/login { role_id, secret_id } → `{ auth: { client_token, accessor, policies,
 *   lease_duration, renewable } }` (https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle);
 *   a wrong pair is 400 `{ "errors": ["invalid role or secret ID"] }`. The token expires after the role's
 *   token_ttl (lease_duration, seconds); `revoke(token)` ends one early.
 * - `sealed(true)`: every request 503 `{ "errors": ["Vault is sealed"] }` (…/api-docs#http-status-codes: 503
 *   "Vault is down for maintenance or is currently sealed"); `throttle(n)`: the next n requests 429 with
 *   Retry-After (Vault's rate limit quotas answer 429 — https://developer.hashicorp.com/vault/docs/concepts/
 *   resource-quotas#rate-limit-quotas).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Version {
  data: Record<string, unknown> | null;
  created: string;
  deleted?: string;
}

export interface FakeVaultOptions {
  /** The KV v2 mount; default `secret`. */
  mount?: string;
  /** Static tokens and the path prefixes (inside the mount) each may read. */
  tokens?: Record<string, string[]>;
  /** The namespace requests must name, when set. */
  namespace?: string;
}

export interface FakeVault {
  url: string;
  /** Write the next version of a secret. */
  put(path: string, data: Record<string, unknown>): number;
  /** Soft-delete the latest version. */
  deleteLatest(path: string): void;
  addRole(roleId: string, secretId: string, policies: string[], tokenTtlSeconds: number): void;
  revoke(token: string): void;
  sealed(on: boolean): void;
  throttle(times: number, retryAfterSeconds?: number): void;
  /** Successful KV reads, by path. */
  reads: Map<string, number>;
  /** AppRole logins that succeeded. */
  logins: number;
  /** Every request's method, path and the token it sent. */
  requests: { method: string; path: string; token?: string }[];
  close(): Promise<void>;
}

export async function startFakeVault(o: FakeVaultOptions = {}): Promise<FakeVault> {
  const mount = o.mount ?? 'secret';
  const secrets = new Map<string, Version[]>();
  const tokens = new Map<string, { policies: string[]; expires: number }>(
    Object.entries(o.tokens ?? {}).map(([t, p]) => [t, { policies: p, expires: Infinity }]),
  );
  const roles = new Map<string, { secretId: string; policies: string[]; ttl: number }>();
  let isSealed = false;
  let throttled = 0;
  let retryAfter = 1;
  const reads = new Map<string, number>();
  const requests: FakeVault['requests'] = [];
  let logins = 0;

  const reply = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const token = req.headers['x-vault-token'] as string | undefined;
      requests.push({ method: req.method ?? '', path: url.pathname, token });
      if (isSealed) return reply(res, 503, { errors: ['Vault is sealed'] });
      if (throttled > 0) {
        throttled--;
        return reply(
          res,
          429,
          { errors: ['request path "' + url.pathname + '": rate limit quota exceeded'] },
          {
            'retry-after': String(retryAfter),
          },
        );
      }
      if (o.namespace !== undefined && req.headers['x-vault-namespace'] !== o.namespace)
        return reply(res, 404, { errors: ['no handler for route "' + url.pathname.slice(4) + '"'] });

      if (req.method === 'POST' && url.pathname === '/v1/auth/approle/login') {
        let body: { role_id?: unknown; secret_id?: unknown } = {};
        try {
          body = JSON.parse(raw || '{}');
        } catch {
          return reply(res, 400, { errors: ['failed to parse JSON input'] });
        }
        const role = typeof body.role_id === 'string' ? roles.get(body.role_id) : undefined;
        if (!role || role.secretId !== body.secret_id)
          return reply(res, 400, { errors: ['invalid role or secret ID'] });
        const client = `hvs.${randomUUID().replace(/-/g, '')}`;
        tokens.set(client, { policies: role.policies, expires: Date.now() + role.ttl * 1000 });
        logins++;
        return reply(res, 200, {
          request_id: randomUUID(),
          lease_id: '',
          renewable: false,
          lease_duration: 0,
          data: null,
          wrap_info: null,
          warnings: null,
          auth: {
            client_token: client,
            accessor: randomUUID(),
            policies: ['default', 'rsync'],
            token_policies: ['default', 'rsync'],
            metadata: { role_name: 'rsync' },
            lease_duration: role.ttl,
            renewable: true,
            entity_id: randomUUID(),
            token_type: 'service',
            orphan: true,
          },
        });
      }

      const prefix = `/v1/${mount}/data/`;
      if (req.method !== 'GET' || !url.pathname.startsWith(prefix))
        return reply(res, 404, { errors: [`no handler for route "${url.pathname.slice(4)}"`] });
      const path = decodeURIComponent(url.pathname.slice(prefix.length));
      const t = token ? tokens.get(token) : undefined;
      if (!t || t.expires <= Date.now() || !t.policies.some((p) => path.startsWith(p)))
        return reply(res, 403, { errors: ['permission denied'] });
      const versions = secrets.get(path);
      if (!versions?.length) return reply(res, 404, { errors: [] });
      const n = url.searchParams.has('version') ? Number(url.searchParams.get('version')) : versions.length;
      const v = versions[n - 1];
      if (!v) return reply(res, 404, { errors: [] });
      const metadata = {
        created_time: v.created,
        custom_metadata: null,
        deletion_time: v.deleted ?? '',
        destroyed: false,
        version: n,
      };
      if (v.deleted) return reply(res, 404, { data: { data: null, metadata } });
      reads.set(path, (reads.get(path) ?? 0) + 1);
      return reply(res, 200, {
        request_id: randomUUID(),
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: { data: v.data, metadata },
        wrap_info: null,
        warnings: null,
        auth: null,
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    put(path, data) {
      const versions = secrets.get(path) ?? [];
      versions.push({ data, created: new Date().toISOString() });
      secrets.set(path, versions);
      return versions.length;
    },
    deleteLatest(path) {
      const v = secrets.get(path)?.at(-1);
      if (v) v.deleted = new Date().toISOString();
    },
    addRole(roleId, secretId, policies, ttl) {
      roles.set(roleId, { secretId, policies, ttl });
    },
    revoke(token) {
      tokens.delete(token);
    },
    sealed(on) {
      isSealed = on;
    },
    throttle(times, after = 1) {
      throttled = times;
      retryAfter = after;
    },
    reads,
    get logins() {
      return logins;
    },
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
