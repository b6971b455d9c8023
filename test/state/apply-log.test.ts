/**
 * `rsync audit verify` (engine/state/apply-log.ts verifyLog, through the built CLI) on a fresh PostgreSQL database:
 * an intact log passes with its entry count and head hash (exit 0); a hand-edited entry, a deleted middle entry
 * and a deleted newest entry each fail with the entry named (exit 1). The table's append-only trigger refuses
 * those edits, so the test disables it around each one, as someone with the table owner's rights could.
 * Then what the database alone cannot catch: the whole chain rewritten consistently, caught by the anchors written
 * outside it (an append-only file, Git notes on the applied commits), and a keyed (HMAC) chain.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { appendLog, configureAuditKey, type LogEntry, verifyLog } from '../../engine/state/apply-log.js';
import { anchorHead, readAnchors } from '../../engine/state/audit-anchors.js';
import { connect, type Database } from '../../engine/state/db.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'cli', 'bin', 'run.js');
const execFileP = promisify(execFile);

let db: TestDatabase;
let database: Database;
/** A folder with no workspace: with DATABASE_URL, verify needs none. */
let elsewhere: string;
let entries: LogEntry[] = [];

interface VerifyJson {
  version: 1;
  ok: boolean;
  entries: number;
  head: string | null;
  problems: { n: number | null; problem: string }[];
  database: string;
}

const verify = (json: boolean) => verifyWith({}, json);

async function verifyWith(
  env: Record<string, string>,
  json = true,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP('node', [CLI, 'audit', 'verify', ...(json ? ['--json'] : [])], {
      cwd: elsewhere,
      env: { ...process.env, DATABASE_URL: db.url, NO_COLOR: '1', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Run `sql` on the apply log with its append-only trigger off, as a hand edit would. */
async function handEdit(sql: string, params: unknown[] = []): Promise<void> {
  const c = await database.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('ALTER TABLE rsync.apply_log DISABLE TRIGGER apply_log_append_only');
    await c.query(sql, params);
    await c.query('ALTER TABLE rsync.apply_log ENABLE TRIGGER apply_log_append_only');
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  } finally {
    c.release();
  }
}

async function append(i: number): Promise<LogEntry> {
  const c = await database.pool.connect();
  try {
    await c.query('BEGIN');
    const e = await appendLog(c, {
      env: i % 2 ? 'staging' : 'production',
      action: 'apply',
      actor: 'Ann Example <ann@acme.example>',
      commit: `${i}`.repeat(40).slice(0, 40),
      ref: 'main',
      detail: {
        applied: { create: i, update: 0, delete: 0 },
        changes: [`create northwind/flow/f${i}`],
        changeCount: 1,
      },
    });
    await c.query('COMMIT');
    return e;
  } finally {
    c.release();
  }
}

beforeAll(async () => {
  db = await testDatabase('audit');
  database = await connect(ROOT, { url: db.url });
  elsewhere = await mkdtemp(path.join(tmpdir(), 'rsync-audit-'));
}, 60_000);

afterAll(async () => {
  await database?.close();
  await db?.drop();
  if (elsewhere) await rm(elsewhere, { recursive: true, force: true });
});

beforeEach(async () => {
  // A fresh log of four entries for every case.
  await handEdit('DELETE FROM rsync.apply_log');
  await database.pool.query('DELETE FROM rsync.apply_log_head');
  entries = [];
  for (let i = 1; i <= 4; i++) entries.push(await append(i));
});

describe('rsync audit verify', () => {
  it('passes an intact log, with its entry count and head hash', async () => {
    const r = await verify(true);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as VerifyJson;
    expect(out).toMatchObject({ version: 1, ok: true, entries: 4, head: entries[3].entryHash, problems: [] });
    expect(out.database).not.toContain(new URL(db.url).password || '\u0000');
    const text = await verify(false);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`OK: the apply log is intact — 4 entries, head ${entries[3].entryHash}`);
  }, 60_000);

  it('refuses edits while the append-only trigger is on', async () => {
    await expect(database.pool.query(`UPDATE rsync.apply_log SET actor = 'someone else' WHERE n = 2`)).rejects.toThrow(
      /append-only/,
    );
    await expect(database.pool.query(`DELETE FROM rsync.apply_log WHERE n = 4`)).rejects.toThrow(/append-only/);
  });

  it('fails after a hand-edited entry, naming it', async () => {
    await handEdit(`UPDATE rsync.apply_log SET detail = jsonb_set(detail, '{applied,create}', '99') WHERE n = 2`);
    const r = await verify(true);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as VerifyJson;
    expect(out.ok).toBe(false);
    expect(out.entries).toBe(4);
    expect(out.problems).toEqual([{ n: 2, problem: expect.stringMatching(/does not match its hash/) }]);
    const text = await verify(false);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('NOT INTACT');
    expect(text.stdout).toMatch(/^ {2}entry 2: its content does not match its hash/m);
  }, 60_000);

  it('fails after a deleted middle entry', async () => {
    await handEdit(`DELETE FROM rsync.apply_log WHERE n = 2`);
    const r = await verify(true);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as VerifyJson;
    expect(out.entries).toBe(3);
    expect(out.problems.map((p) => p.n)).toEqual([2, 3]);
    expect(out.problems[0].problem).toMatch(/missing/);
    expect(out.problems[1].problem).toMatch(/link to the previous entry is broken/);
  }, 60_000);

  it('fails after the newest entry is deleted', async () => {
    await handEdit(`DELETE FROM rsync.apply_log WHERE n = 4`);
    const r = await verify(true);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as VerifyJson;
    expect(out.entries).toBe(3);
    expect(out.head).toBe(entries[3].entryHash);
    expect(out.problems).toEqual([
      { n: 4, problem: expect.stringMatching(/ends at entry 3 but its head records entry 4/) },
    ]);
  }, 60_000);
});

/** Rewrite the log from entry `from` on, consistently (each hash recomputed by appendLog), as a forger would. */
async function rewriteFrom(from: number): Promise<void> {
  await handEdit('DELETE FROM rsync.apply_log WHERE n >= $1', [from]);
  await database.pool.query('UPDATE rsync.apply_log_head SET n = $1, entry_hash = $2', [
    from - 1,
    entries[from - 2].entryHash,
  ]);
  for (let i = from; i <= 4; i++) await append(100 + i);
}

describe('anchors outside the database, and a keyed chain', () => {
  it('a chain rewritten consistently passes alone but fails against its anchor file, naming the entry', async () => {
    const file = path.join(elsewhere, 'anchors', 'audit.jsonl');
    const written = await anchorHead(database.pool, { file, env: 'staging' });
    expect(written.anchor).toMatchObject({ n: 4, hash: entries[3].entryHash });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
    await rewriteFrom(2);
    // The database alone cannot tell: every link and the head agree.
    expect((await verify(true)).code).toBe(0);
    // Against the anchor written before the rewrite, it can.
    const r = await verifyWith({ RSYNC_AUDIT_ANCHOR: file });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as VerifyJson & { anchors: number };
    expect(out.anchors).toBe(1);
    expect(out.problems).toEqual([
      {
        n: 4,
        problem: expect.stringMatching(
          /hash differs from the one anchored in file .*audit\.jsonl:1 .*rewritten in the database/,
        ),
      },
    ]);
    // An anchor that matches passes, and says so.
    await anchorHead(database.pool, { file: path.join(elsewhere, 'fresh.jsonl') });
    const fresh = await verifyWith({ RSYNC_AUDIT_ANCHOR: path.join(elsewhere, 'fresh.jsonl') }, false);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('1 anchor(s) outside the database match');
  }, 60_000);

  it('Git notes on the applied commits anchor the chain in the repository', async () => {
    const repo = await mkdtemp(path.join(tmpdir(), 'rsync-audit-git-'));
    const git = (...args: string[]) => execFileP('git', args, { cwd: repo });
    await git('init', '-q', '-b', 'main');
    await git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'applied');
    const commit = (await git('rev-parse', 'HEAD')).stdout.trim();
    const r = await anchorHead(database.pool, { gitFolder: repo, commit, env: 'staging' });
    expect(r.note).toBe(commit);
    const { anchors } = await readAnchors({ gitFolder: repo });
    expect(anchors).toEqual([
      { n: 4, hash: entries[3].entryHash, at: expect.any(String), source: `git note on ${commit.slice(0, 12)}` },
    ]);
    expect((await verifyLog(database.pool, anchors)).ok).toBe(true);
    await rewriteFrom(3);
    const after = await verifyLog(database.pool, (await readAnchors({ gitFolder: repo })).anchors);
    expect(after.ok).toBe(false);
    expect(after.problems).toEqual([{ n: 4, problem: expect.stringMatching(/anchored in git note on/) }]);
  }, 60_000);

  it('a key makes new entries HMACs: checked with the key, refused without it or with another, a forged plain entry after them caught', async () => {
    configureAuditKey('audit-key-3f9a');
    try {
      entries.push(await append(5), await append(6));
      const ok = await verifyLog(database.pool);
      expect(ok).toMatchObject({ ok: true, entries: 6, keyed: 2 });
      configureAuditKey('another-key');
      expect((await verifyLog(database.pool)).problems.map((p) => p.n)).toEqual([5, 6]);
      configureAuditKey(undefined);
      const none = await verifyLog(database.pool);
      expect(none.problems[0].problem).toMatch(/keyed \(HMAC\) and no audit key was given/);
      // A forger without the key rewrites entry 6 as a plain SHA-256 entry, consistently.
      await handEdit('DELETE FROM rsync.apply_log WHERE n = 6');
      await database.pool.query('UPDATE rsync.apply_log_head SET n = 5, entry_hash = $1', [entries[4].entryHash]);
      await append(66);
      configureAuditKey('audit-key-3f9a');
      const forged = await verifyLog(database.pool);
      expect(forged.problems).toEqual([
        { n: 6, problem: expect.stringMatching(/not keyed although entry 5 before it is/) },
      ]);
    } finally {
      configureAuditKey(undefined);
    }
  }, 60_000);
});
