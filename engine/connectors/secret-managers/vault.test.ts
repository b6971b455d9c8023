/**
 * The vault secret manager against the fake Vault (vault-fake.ts): KV v2 reads by token and by AppRole, Vault's
 * refusals as permanent or transient ConnectorErrors; then the cache over time (a moved clock): a rotated value
 * (a new version) is served once the TTL has passed, without reopening anything, and a connector opened once sends
 * the new value.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openConnector } from '../registry.js';
import { configureSecrets, redact, resolveSecret } from '../secrets.js';
import { failureOf } from '../testing.js';
import { ConnectorError } from '../types.js';
import { closeSecretManagers, prefetchSecrets, setSecretClock } from './cache.js';
import { type FakeVault, startFakeVault } from './vault-fake.js';
import { vaultManager } from './vault.js';

const ROOT = 'hvs.root-token-of-the-test';
const NO_POLICY = 'hvs.token-without-a-policy';

let vault: FakeVault;
beforeAll(async () => {
  vault = await startFakeVault({ tokens: { [ROOT]: ['customers/', 'acme/'], [NO_POLICY]: ['elsewhere/'] } });
  vault.put('customers/northwind/shopify', { token: 'shpat-northwind-v1', webhook: 'whsec-northwind' });
  vault.put('customers/northwind/netsuite', { key: 'only-field-value' });
  process.env.RSYNC_TEST_VAULT_TOKEN = ROOT;
  process.env.RSYNC_TEST_VAULT_NO_POLICY = NO_POLICY;
});
afterAll(() => vault.close());

const manager = (more: Record<string, unknown> = {}) =>
  vaultManager({ address: vault.url, token: { secretRef: 'env:RSYNC_TEST_VAULT_TOKEN' }, ...more }, { ...process.env });

describe('vault: KV v2 with a token', () => {
  it('reads the field named after #, and a secret’s only field without one', async () => {
    const m = manager();
    expect(m.scheme).toBe('vault');
    expect(await m.fetch('customers/northwind/shopify#token')).toBe('shpat-northwind-v1');
    expect(await m.fetch('customers/northwind/netsuite')).toBe('only-field-value');
    const last = vault.requests.at(-1)!;
    expect(last).toMatchObject({ method: 'GET', path: '/v1/secret/data/customers/northwind/netsuite', token: ROOT });
    // What was read is scrubbed from any message from now on.
    expect(redact('got shpat-northwind-v1')).toBe('got ***');
  });

  it('refuses for good what does not exist, what the token may not read, and a secret with several fields', async () => {
    const missing = await failureOf(manager().fetch('customers/northwind/nothing#token'));
    expect(missing.transient).toBe(false);
    expect(missing.message).toContain('does not exist');
    const denied = await failureOf(
      manager({ token: { secretRef: 'env:RSYNC_TEST_VAULT_NO_POLICY' } }).fetch('customers/northwind/shopify#token'),
    );
    expect(denied.transient).toBe(false);
    expect(denied.message).toContain('denied');
    expect(denied.message).toContain('permission denied');
    const several = await failureOf(manager().fetch('customers/northwind/shopify'));
    expect(several.transient).toBe(false);
    expect(several.message).toContain('token, webhook: name one');
    const field = await failureOf(manager().fetch('customers/northwind/shopify#password'));
    expect(field.message).toContain('no field "password"');
    expect(field.message).not.toContain('shpat-northwind-v1');
  });

  it('a deleted latest version is gone, as Vault says with its 404', async () => {
    vault.put('customers/northwind/old', { token: 'old-value-1' });
    vault.deleteLatest('customers/northwind/old');
    const e = await failureOf(manager().fetch('customers/northwind/old#token'));
    expect(e.transient).toBe(false);
  });

  it('is transient when Vault is sealed or rate-limits (with its Retry-After)', async () => {
    vault.sealed(true);
    try {
      const sealed = await failureOf(manager().fetch('customers/northwind/shopify#token'));
      expect(sealed.transient).toBe(true);
      expect(sealed.message).toContain('Vault is sealed');
    } finally {
      vault.sealed(false);
    }
    vault.throttle(1, 3);
    const limited = await failureOf(manager().fetch('customers/northwind/shopify#token'));
    expect(limited.transient).toBe(true);
    expect(limited.retryAfterMs).toBe(3000);
    const down = await failureOf(
      vaultManager(
        { address: 'http://127.0.0.1:1', token: { secretRef: 'env:RSYNC_TEST_VAULT_TOKEN' } },
        process.env,
      ).fetch('x#y'),
    );
    expect(down.transient).toBe(true);
  });

  it('sends the namespace it is given', async () => {
    const ns = await startFakeVault({ tokens: { [ROOT]: ['customers/'] }, namespace: 'acme/retail' });
    try {
      ns.put('customers/contoso/woo', { key: 'ck-contoso' });
      expect(await manager({ address: ns.url, namespace: 'acme/retail' }).fetch('customers/contoso/woo#key')).toBe(
        'ck-contoso',
      );
      expect((await failureOf(manager({ address: ns.url }).fetch('customers/contoso/woo#key'))).status).toBe(404);
    } finally {
      await ns.close();
    }
  });
});

describe('vault: AppRole', () => {
  beforeAll(() => {
    vault.addRole('role-rsync', 'secret-id-rsync', ['customers/'], 3600);
    vault.addRole('role-short', 'secret-id-short', ['customers/'], 1);
    process.env.RSYNC_TEST_ROLE_ID = 'role-rsync';
    process.env.RSYNC_TEST_SECRET_ID = 'secret-id-rsync';
  });
  const approle = (roleId = 'env:RSYNC_TEST_ROLE_ID', secretId = 'env:RSYNC_TEST_SECRET_ID') =>
    vaultManager(
      { address: vault.url, appRole: { roleId: { secretRef: roleId }, secretId: { secretRef: secretId } } },
      process.env,
    );

  it('logs in once for a client token and reads with it', async () => {
    const m = approle();
    const before = vault.logins;
    expect(await m.fetch('customers/northwind/shopify#token')).toBe('shpat-northwind-v1');
    expect(await m.fetch('customers/northwind/netsuite')).toBe('only-field-value');
    expect(vault.logins).toBe(before + 1);
    const login = vault.requests.find((r) => r.path === '/v1/auth/approle/login');
    expect(login?.token).toBeUndefined();
    const read = vault.requests.at(-1)!;
    expect(read.token).toMatch(/^hvs\./);
    expect(read.token).not.toBe(ROOT);
  });

  it('logs in again when its token is revoked, and before its lease runs out', async () => {
    const m = approle();
    await m.fetch('customers/northwind/netsuite');
    const token = vault.requests.at(-1)!.token!;
    vault.revoke(token);
    const before = vault.logins;
    expect(await m.fetch('customers/northwind/netsuite')).toBe('only-field-value');
    expect(vault.logins).toBe(before + 1);
    expect(vault.requests.at(-1)!.token).not.toBe(token);

    process.env.RSYNC_TEST_SHORT_ROLE = 'role-short';
    process.env.RSYNC_TEST_SHORT_SECRET = 'secret-id-short';
    const short = approle('env:RSYNC_TEST_SHORT_ROLE', 'env:RSYNC_TEST_SHORT_SECRET');
    await short.fetch('customers/northwind/netsuite');
    const first = vault.logins;
    // A 1-second lease: past 80% of it the manager logs in again rather than send a token about to expire.
    await new Promise((r) => setTimeout(r, 900));
    await short.fetch('customers/northwind/netsuite');
    expect(vault.logins).toBe(first + 1);
  });

  it('a wrong secret_id is refused for good, and the message names neither id', async () => {
    process.env.RSYNC_TEST_WRONG_SECRET = 'not-the-secret-id';
    const e = await failureOf(approle('env:RSYNC_TEST_ROLE_ID', 'env:RSYNC_TEST_WRONG_SECRET').fetch('customers/x#y'));
    expect(e.transient).toBe(false);
    expect(e.message).toContain('invalid role or secret ID');
    expect(e.message).not.toContain('not-the-secret-id');
    expect(e.message).not.toContain('role-rsync');
  });
});

describe('the cache over time: a rotated value without a restart', () => {
  let clock = Date.now();
  afterEach(async () => {
    setSecretClock(() => Date.now());
    await closeSecretManagers();
  });
  const configure = () => {
    setSecretClock(() => clock);
    configureSecrets({
      settings: {
        cacheTtl: '1m',
        vault: { address: vault.url, token: { secretRef: 'env:RSYNC_TEST_VAULT_TOKEN' } },
      },
    });
  };

  it('serves the value fetched for the TTL, then the new version', async () => {
    vault.put('customers/northwind/rotating', { token: 'rotating-value-1' });
    configure();
    const ref = { secretRef: 'vault:customers/northwind/rotating#token' };
    // Not fetched yet: the synchronous resolver asks for a retry while the fetch runs.
    const first = (() => {
      try {
        resolveSecret(ref);
      } catch (e) {
        return e as ConnectorError;
      }
    })();
    expect(first?.transient).toBe(true);
    await prefetchSecrets({ auth: { token: ref } });
    expect(resolveSecret(ref)).toBe('rotating-value-1');
    const reads = vault.reads.get('customers/northwind/rotating');

    vault.put('customers/northwind/rotating', { token: 'rotating-value-2' });
    clock += 59_000;
    await prefetchSecrets({ token: ref });
    expect(resolveSecret(ref)).toBe('rotating-value-1'); // within the TTL: not fetched again
    expect(vault.reads.get('customers/northwind/rotating')).toBe(reads);

    clock += 2_000;
    await prefetchSecrets({ token: ref });
    expect(resolveSecret(ref)).toBe('rotating-value-2');
    expect(redact('rotating-value-1 rotating-value-2')).toBe('*** ***');
  });

  it('a path that cannot wait gets the old value for at most twice the TTL, while the refresh runs', async () => {
    vault.put('customers/northwind/hook', { secret: 'hook-secret-1' });
    configure();
    const ref = { secretRef: 'vault:customers/northwind/hook#secret' };
    await prefetchSecrets(ref);
    vault.put('customers/northwind/hook', { secret: 'hook-secret-2' });
    clock += 90_000;
    expect(resolveSecret(ref)).toBe('hook-secret-1'); // stale, and a refresh started
    await new Promise((r) => setTimeout(r, 200));
    expect(resolveSecret(ref)).toBe('hook-secret-2');
    clock += 150_000; // past twice the TTL, and no fetch since
    vault.sealed(true);
    try {
      expect(() => resolveSecret(ref)).toThrow(ConnectorError);
    } finally {
      vault.sealed(false);
    }
  });

  it('a connector opened once sends the rotated value on its next write', async () => {
    const seen: string[] = [];
    const api = http.createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"1"}'));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    try {
      vault.put('customers/northwind/api', { token: 'api-token-1' });
      configure();
      const port = (api.address() as AddressInfo).port;
      const open = openConnector({
        system: 'northwind/api',
        connector: 'http',
        settings: {
          baseUrl: `http://127.0.0.1:${port}`,
          auth: { type: 'bearer', token: { secretRef: 'vault:customers/northwind/api#token' } },
          entities: { level: { accepts: ['inventoryLevel'], path: '/levels', method: 'PUT' } },
        },
      });
      const item = (k: string) => ({ key: k, record: { sku: k, locationId: '1', available: 1 } });
      await open.write!('level', [item('a')] as never);
      vault.put('customers/northwind/api', { token: 'api-token-2' });
      clock += 61_000;
      await open.write!('level', [item('b')] as never);
      expect(seen).toEqual(['Bearer api-token-1', 'Bearer api-token-2']);
    } finally {
      api.close();
    }
  });
});
