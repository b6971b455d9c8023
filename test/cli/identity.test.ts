/**
 * The CLI acting as identities (cli/identity.ts, issue 17): with RSYNC_TOKEN, the mutating commands act as the
 * token — the audit log names it (`token:<id> <name> (<role>)`), not RSYNC_ACTOR or the Git user — and a role that
 * may not do what the command does is refused (exit 75) before anything is done; the apply log still verifies.
 * The built CLI, real PostgreSQL, a real Git repository with the example workspace.
 */
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../engine/auth/tokens.js';
import { migrate } from '../../engine/state/migrate.js';
import { buildProblem, exampleRepo, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const COMMANDS = ['apply', 'dlq/discard', 'dlq/replay', 'run', 'backfill', 'promote', 'approve', 'audit/verify'];

describe('RSYNC_TOKEN: the CLI acts as the token', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let repo: string;
  const token: Record<string, { token: string; id: string }> = {};
  const as = (who: string | null, ...args: string[]) =>
    runCli(args, repo, {
      url: db.url,
      actor: 'Self Declared <anyone@example.com>',
      isolateGit: true,
      env: who ? { RSYNC_TOKEN: token[who].token } : {},
    });
  const lastEntry = async () =>
    (await pool.query(`SELECT action, actor, detail FROM rsync.apply_log ORDER BY n DESC LIMIT 1`)).rows[0];

  beforeAll(async () => {
    const problem = buildProblem(COMMANDS.map((c) => `cli/commands/${c}.ts`));
    if (problem) throw new Error(problem);
    db = await testDatabase('cli-identity');
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test cli identity' });
    await migrate(pool);
    for (const [name, role] of [
      ['ops', 'operator'],
      ['vic', 'viewer'],
    ] as const) {
      const made = await createToken(pool, { name, role, createdBy: 'test' });
      token[name] = { token: made.token, id: made.row.id };
    }
    repo = exampleRepo('rsync-cli-identity-');
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('an apply and a dead-letter discard are recorded as the token; a viewer is refused (75); the log verifies', async () => {
    const viewerApply = await as('vic', 'apply', '--env', 'staging', '--auto-approve');
    expect(viewerApply.status, show(viewerApply)).toBe(75);
    expect(viewerApply.stderr).toContain('The viewer role may not do this (it needs the right to operate)');
    expect((await pool.query(`SELECT count(*)::int AS n FROM rsync.resources`)).rows[0].n).toBe(0);

    const applied = await as('ops', 'apply', '--env', 'staging', '--auto-approve');
    expect(applied.status, show(applied)).toBe(0);
    expect(await lastEntry()).toMatchObject({ action: 'apply', actor: `token:${token.ops.id} ops (operator)` });

    const flow = (
      await pool.query(
        `SELECT address, customer, name FROM rsync.resources WHERE kind = 'flow' ORDER BY address LIMIT 1`,
      )
    ).rows[0];
    const { rows } = await pool.query<{ id: number }>(
      `INSERT INTO rsync.dead_letters (env, address, customer, revision, stage, error, payload)
       VALUES ('staging', $1, $2, 1, 'write', 'the ERP refused it', '{}') RETURNING id::int`,
      [flow.address, flow.customer],
    );
    const id = String(rows[0].id);
    for (const args of [
      ['dlq', 'discard', id, '--env', 'staging', '--reason', 'x'],
      ['run', `${flow.customer}/${flow.name}`, '--env', 'staging'],
    ]) {
      const refused = await as('vic', ...args);
      expect(refused.status, `${args.join(' ')}\n${show(refused)}`).toBe(75);
      expect(refused.stderr).toContain('The viewer role may not do this');
    }
    const open = await pool.query(`SELECT status FROM rsync.dead_letters WHERE id = $1`, [id]);
    expect(open.rows[0].status).toBe('open');

    const discarded = await as('ops', 'dlq', 'discard', id, '--env', 'staging', '--reason', 'a test order');
    expect(discarded.status, show(discarded)).toBe(0);
    const entry = await lastEntry();
    expect(entry).toMatchObject({ action: 'dlq-discard', actor: `token:${token.ops.id} ops (operator)` });
    expect(entry.detail).toMatchObject({ letters: [Number(id)], reason: 'a test order' });
    const letter = await pool.query(`SELECT status, resolved_by FROM rsync.dead_letters WHERE id = $1`, [id]);
    expect(letter.rows[0]).toEqual({ status: 'discarded', resolved_by: `token:${token.ops.id} ops (operator)` });
    // Nothing in the log names the self-declared actor.
    const named = await pool.query(`SELECT count(*)::int AS n FROM rsync.apply_log WHERE actor LIKE '%Self Declared%'`);
    expect(named.rows[0].n).toBe(0);

    const verify = await as(null, 'audit', 'verify');
    expect(verify.status, show(verify)).toBe(0);
  });
});
