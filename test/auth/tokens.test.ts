/**
 * Tokens and roles (engine/auth/tokens.ts, issue 17), on real PostgreSQL: a token proves its identity until it is
 * revoked or expires — refused at once after — and only its hash is stored; what each role may do; and the CLI's
 * `rsync token create|list|revoke`, which RSYNC_TOKEN subjects to the same roles.
 */
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, can, createToken, type Identity, personOf, revokeToken } from '../../engine/auth/tokens.js';
import { migrate } from '../../engine/state/migrate.js';
import { buildProblem, exampleRepo, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

describe('tokens', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await testDatabase('tokens');
    pool = new pg.Pool({ connectionString: db.url, application_name: 'test tokens' });
    await migrate(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('proves its identity; a wrong secret, a revoked or an expired token is refused at once; only a hash is kept', async () => {
    const { token, row } = await createToken(pool, { name: 'jane', role: 'operator', createdBy: 'test' });
    expect(token).toMatch(/^rsy_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const who = await authenticate(pool, token);
    expect(who).toMatchObject({ id: row.id, name: 'jane', role: 'operator', customer: null });
    const stored = JSON.stringify((await pool.query('SELECT * FROM rsync.tokens')).rows);
    expect(stored).not.toContain(token.split('_')[2]);
    const wrong = `${token.slice(0, -4)}AAAA`;
    expect(await authenticate(pool, wrong)).toBeNull();
    expect(await authenticate(pool, 'Bearer nonsense')).toBeNull();
    expect(await revokeToken(pool, row.id, 'test')).toBe(true);
    expect(await authenticate(pool, token)).toBeNull();
    expect(await revokeToken(pool, row.id, 'test')).toBe(false);
    const short = await createToken(pool, { name: 'ci', role: 'viewer', createdBy: 'test', expiresInMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(await authenticate(pool, short.token)).toBeNull();
  });

  it('one person however named: a token or session by its name, a Git user by their address', () => {
    expect(personOf('token:abc123def456 Jane@Acme.example (operator)')).toBe('jane@acme.example');
    expect(personOf('Jane Doe <jane@acme.example>')).toBe('jane@acme.example');
    expect(personOf('token:abc123def456 ci (admin)')).toBe('ci');
    expect(personOf('dana@build-host')).toBe('dana@build-host');
    expect(personOf('Local User')).toBe('Local User');
  });

  it('a customer viewer has exactly one customer; the roles allow what the table says', async () => {
    await expect(createToken(pool, { name: 'x', role: 'customer-viewer', createdBy: 't' })).rejects.toThrow(
      'needs its customer',
    );
    await expect(
      createToken(pool, { name: 'x', role: 'viewer', customer: 'northwind', createdBy: 't' }),
    ).rejects.toThrow('only for the customer-viewer role');
    const id = (role: Identity['role'], customer: string | null = null): Identity => ({
      id: 'x',
      kind: 'api',
      name: 'x',
      role,
      customer,
      expiresAt: null,
    });
    const table = Object.fromEntries(
      (['admin', 'operator', 'viewer'] as const).map((r) => [
        r,
        (['read', 'payloads', 'operate', 'approve', 'admin'] as const).filter((a) => can(id(r), a, 'northwind')),
      ]),
    );
    expect(table).toEqual({
      admin: ['read', 'payloads', 'operate', 'approve', 'admin'],
      operator: ['read', 'payloads', 'operate', 'approve'],
      viewer: ['read', 'payloads'],
    });
    const cv = id('customer-viewer', 'northwind');
    expect(can(cv, 'read', 'northwind')).toBe(true);
    expect(can(cv, 'read', 'contoso')).toBe(false);
    expect(can(cv, 'read')).toBe(false); // partner-wide objects: none
    expect(can(cv, 'payloads', 'northwind')).toBe(false);
  });

  it('rsync token create, list and revoke; RSYNC_TOKEN holds the CLI to its role', async () => {
    const problem = buildProblem(['token/create', 'token/list', 'token/revoke']);
    if (problem) throw new Error(problem);
    const repo = exampleRepo('rsync-tokens-');
    const run = (args: string[], env: Record<string, string> = {}) =>
      runCli(args, repo, { url: db.url, actor: 'admin <admin@acme.example>', env });
    const made = await run([
      'token',
      'create',
      'northwind-it',
      '--role',
      'customer-viewer',
      '--customer',
      'northwind',
      '--expires',
      '30d',
      '--json',
    ]);
    expect(made.status, show(made)).toBe(0);
    const { token, row } = JSON.parse(made.stdout);
    expect(row).toMatchObject({
      role: 'customer-viewer',
      customer: 'northwind',
      createdBy: 'admin <admin@acme.example>',
    });
    const list = await run(['token', 'list']);
    expect(list.stdout).toContain(row.id);
    expect(list.stdout).not.toContain(token);
    // A customer viewer may not make tokens (exit 75); a made-up token is refused (exit 1).
    const denied = await run(['token', 'create', 'x', '--role', 'admin'], { RSYNC_TOKEN: token });
    expect(denied.status, show(denied)).toBe(75);
    expect(denied.stderr).toContain('The customer-viewer role may not do this');
    const forged = await run(['token', 'list'], { RSYNC_TOKEN: `rsy_${'a'.repeat(12)}_${'b'.repeat(43)}` });
    expect(forged.status).toBe(1);
    expect(forged.stderr).toContain('RSYNC_TOKEN is not a valid token');
    const bad = await run(['token', 'create', 'x', '--role', 'viewer', '--customer', 'northwind']);
    expect(bad.status).toBe(64);
    const revoked = await run(['token', 'revoke', row.id]);
    expect(revoked.status, show(revoked)).toBe(0);
    expect(await authenticate(pool, token)).toBeNull();
    rmSync(repo, { recursive: true, force: true });
  });
});
