/**
 * The gcp secret backend against the fake Secret Manager (gcp-fake.ts) over real HTTP on 127.0.0.1: the access token
 * from google-auth-library (a service-account key file by reference, its JWT grant verified by the fake with the key
 * the test generated; or the metadata server), latest and pinned versions, rotation seen on the next fetch, the
 * CRC-32C check, each error kind (permanent: not found, denied, disabled, a bad reference, a key the token endpoint
 * refuses; transient: throttled, a corrupted payload) and every value scrubbed by redact afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redact } from '../secrets.js';
import { failureOf } from '../testing.js';
import { crc32c } from './crc32c.js';
import { openGcpSecretManager, parseGcpSecretName } from './gcp.js';
import { fakeGcpSettings, serviceAccountKey, startFakeGcpSecrets } from './gcp-fake.js';

const EMAIL = 'rsync-worker@acme-prod.iam.gserviceaccount.com';
let dir: string;
const saved = { secrets: process.env.RSYNC_SECRETS_DIR, metadata: process.env.GCE_METADATA_HOST };

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rsync-gcp-'));
  mkdirSync(path.join(dir, 'gcp'));
  process.env.RSYNC_SECRETS_DIR = dir;
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [
    ['RSYNC_SECRETS_DIR', saved.secrets],
    ['GCE_METADATA_HOST', saved.metadata],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

/** What each test opened, closed after it (managers before their fake). */
let closers: (() => Promise<void> | undefined)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

/** A fake, a key file for it at file:gcp/<file>, and a manager that uses them. */
async function setup(o: { trusted?: boolean; file?: string } = {}) {
  const fake = await startFakeGcpSecrets({ project: 'acme-prod' });
  const file = o.file ?? 'sa.json';
  writeFileSync(path.join(dir, 'gcp', file), JSON.stringify(serviceAccountKey(fake, EMAIL, o.trusted ?? true)));
  closers.push(() => fake.close());
  const connect = (settings: Record<string, unknown> = {}) => {
    const m = openGcpSecretManager({ ...fakeGcpSettings(fake, `file:gcp/${file}`), ...settings }, {});
    closers.push(() => m.close?.());
    return m;
  };
  return { fake, gcp: connect(), connect };
}

describe('gcp: references', () => {
  it('reads the short form with settings.project, and the full resource name', () => {
    expect(parseGcpSecretName('northwind-shopify', 'acme-prod')).toEqual({
      project: 'acme-prod',
      secret: 'northwind-shopify',
      version: 'latest',
    });
    expect(parseGcpSecretName('northwind-shopify@3', 'acme-prod')).toMatchObject({ version: '3' });
    expect(parseGcpSecretName('projects/other-proj/secrets/db/versions/7')).toEqual({
      project: 'other-proj',
      secret: 'db',
      version: '7',
    });
    expect(parseGcpSecretName('projects/other-proj/secrets/db')).toMatchObject({ version: 'latest' });
    expect(parseGcpSecretName('northwind-shopify')).toMatch(/needs a project: set settings.project/);
    expect(parseGcpSecretName('bad/name', 'acme-prod')).toMatch(/names no secret id/);
    expect(parseGcpSecretName('projects/p/secrets')).toMatch(/is not projects\/P\/secrets\/S/);
  });

  it('computes CRC-32C (Castagnoli), not the IEEE CRC-32', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });
});

describe('gcp: access against the fake', () => {
  it('fetches the latest version with a token from the service-account key file, and a pinned version', async () => {
    const { fake, gcp } = await setup();
    fake.add('northwind-shopify', 'shpat_gcp_version_one');
    fake.add('northwind-shopify', 'shpat_gcp_version_two');
    expect(await gcp.fetch('northwind-shopify')).toBe('shpat_gcp_version_two');
    expect(await gcp.fetch('northwind-shopify@1')).toBe('shpat_gcp_version_one');
    expect(await gcp.fetch(`projects/${fake.projectNumber}/secrets/northwind-shopify/versions/2`)).toBe(
      'shpat_gcp_version_two',
    );
    expect(fake.tokens).toBe(1);
    expect(fake.accesses).toBe(3);
  });

  it('serves the rotated value on the next fetch: latest follows the new version', async () => {
    const { fake, gcp } = await setup();
    fake.add('contoso-api', 'gcp-before-rotation-01');
    expect(await gcp.fetch('contoso-api')).toBe('gcp-before-rotation-01');
    fake.add('contoso-api', 'gcp-after-rotation-02');
    fake.disable('contoso-api', 1);
    expect(await gcp.fetch('contoso-api')).toBe('gcp-after-rotation-02');
    const old = await failureOf(gcp.fetch('contoso-api@1'));
    expect(old.transient).toBe(false);
    expect(old.message).toContain('FAILED_PRECONDITION');
    expect(old.message).toContain('enable it, or name another version');
  });

  it('gets its token from the metadata server when no credentialsRef is set', async () => {
    const { fake, connect } = await setup();
    process.env.GCE_METADATA_HOST = new URL(fake.url).host;
    fake.add('northwind-db', 'metadata-served-value-88');
    const m = connect({ credentialsRef: undefined });
    expect(await m.fetch('northwind-db')).toBe('metadata-served-value-88');
    expect(fake.tokens).toBe(1);
  });

  it('fetches a new token when the one it holds is refused (revoked), once', async () => {
    const { fake, gcp } = await setup();
    fake.add('contoso-api', 'after-revocation-value-1');
    expect(await gcp.fetch('contoso-api')).toBe('after-revocation-value-1');
    fake.revokeTokens();
    expect(await gcp.fetch('contoso-api')).toBe('after-revocation-value-1');
    expect(fake.tokens).toBe(2);
  });

  it('scrubs every value it returned, the key and the access token from messages afterwards', async () => {
    const { fake, gcp } = await setup();
    fake.add('contoso-planted', 'gcp-planted-secret-4e7a1b');
    const v = await gcp.fetch('contoso-planted');
    const out = redact(`echo ${v} / ${encodeURIComponent(v)} / ${Buffer.from(v).toString('base64')}`);
    expect(out).toBe('echo *** / *** / ***');
  });
});

describe('gcp: failures', () => {
  it('a secret or version that does not exist is permanent, with the reference and the fix', async () => {
    const { fake, gcp } = await setup();
    const e = await failureOf(gcp.fetch('northwind-missing'));
    expect(e.transient).toBe(false);
    expect(e.kind).toBe('permanent');
    expect(e.message).toMatch(
      /^secret gcp:northwind-missing does not exist in Google Secret Manager \(404 NOT_FOUND\)/,
    );
    fake.add('northwind-shopify', 'some-value-123');
    expect((await failureOf(gcp.fetch('northwind-shopify@9'))).message).toContain('404 NOT_FOUND');
  });

  it('permission denied is a permanent auth failure naming the role to grant', async () => {
    const { fake, gcp } = await setup();
    fake.add('contoso-api', 'denied-gcp-value-1');
    fake.deny('contoso-api');
    const e = await failureOf(gcp.fetch('contoso-api'));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('403 PERMISSION_DENIED');
    expect(e.message).toContain('roles/secretmanager.secretAccessor');
  });

  it('a key the token endpoint does not know is refused (JWT signature): permanent auth, no access made', async () => {
    const { fake, gcp } = await setup({ trusted: false, file: 'untrusted.json' });
    fake.add('contoso-api', 'never-served-value-1');
    const e = await failureOf(gcp.fetch('contoso-api'));
    expect(e.transient).toBe(false);
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('invalid_grant');
    expect(e.message).toContain('file:gcp/untrusted.json');
    expect(fake.tokens).toBe(0);
    expect(fake.accesses).toBe(0);
  });

  it('a key signed by another private key than the one trusted for its account is refused', async () => {
    const { fake, gcp } = await setup();
    // The account's trusted key is replaced: the file's key no longer matches it.
    serviceAccountKey(fake, EMAIL);
    fake.add('contoso-api', 'never-served-value-2');
    const e = await failureOf(gcp.fetch('contoso-api'));
    expect(e.message).toContain('Invalid JWT Signature.');
  });

  it('a file that is not a service-account key is refused without showing its content', async () => {
    writeFileSync(path.join(dir, 'gcp', 'not-a-key.json'), '{"api_key":"file-content-never-shown"}');
    const { connect } = await setup();
    const e = await failureOf(connect({ credentialsRef: 'file:gcp/not-a-key.json' }).fetch('contoso-api'));
    expect(e.message).toContain('is not a service-account key');
    expect(e.message).not.toContain('file-content-never-shown');
  });

  it('429 RESOURCE_EXHAUSTED is transient (throttled) with its Retry-After', async () => {
    const { fake, gcp } = await setup();
    fake.add('contoso-api', 'throttled-gcp-value-1');
    fake.throttle(1, 3);
    const e = await failureOf(gcp.fetch('contoso-api'));
    expect(e.transient).toBe(true);
    expect(e.kind).toBe('throttled');
    expect(e.retryAfterMs).toBe(3000);
    expect(await gcp.fetch('contoso-api')).toBe('throttled-gcp-value-1');
  });

  it('a Secret Manager that does not answer is transient (the token still from the key file)', async () => {
    const { fake, connect } = await setup();
    const gone = await startFakeGcpSecrets();
    await gone.close();
    const m = connect({ endpoint: gone.url });
    const e = await failureOf(m.fetch('contoso-api'));
    expect(e.transient).toBe(true);
    expect(e.message).toContain('did not answer (ECONNREFUSED)');
    expect(fake.tokens).toBe(1);
  });

  it('a payload that does not match its dataCrc32c is transient, and the next fetch gets the value', async () => {
    const { fake, gcp } = await setup();
    fake.add('contoso-api', 'checksummed-value-77');
    fake.corrupt(1);
    const e = await failureOf(gcp.fetch('contoso-api'));
    expect(e.transient).toBe(true);
    expect(e.message).toContain('does not match its dataCrc32c');
    expect(e.message).not.toContain('checksummed-value-77');
    expect(await gcp.fetch('contoso-api')).toBe('checksummed-value-77');
  });
});
