/**
 * Crash runs for the connector suites (issue 13's "a worker killed with SIGKILL at random moments while posting
 * 10,000 orders"): worker processes are started one after another against a workspace with backfills queued, each
 * killed with SIGKILL at a random moment after it committed at least one page, until every backfill window is
 * done; then a last worker sweeps the runs the killed ones left 'running'. What the target then holds is the
 * caller's to check (exactly once, the ledger's target ids against the fake's).
 */
import type pg from 'pg';
import { spawnWorker, until } from './runtime.js';

export interface CrashOptions {
  /** Give up (fail) after this long in all. */
  maxMs?: number;
  /** Kill at most this many workers; the next one runs to the end. */
  kills?: number;
  /** The longest random wait after a worker's first committed page before it is killed. */
  jitterMs?: number;
  /** More arguments for `rsync worker` (default `--threads 1`). */
  args?: string[];
}

/** Windows not done, and progress made (records read plus windows done), over every backfill of the database. */
async function progress(pool: pg.Pool): Promise<{ left: number; moved: number }> {
  const { rows } = await pool.query<{ left: number; moved: number }>(
    `SELECT count(*) FILTER (WHERE done_at IS NULL)::int AS left, (coalesce(sum(read), 0) + count(done_at))::int AS moved
       FROM rsync.backfill_windows`,
  );
  return rows[0];
}

/** Runs workers, killing each mid-work, until the backfills are done. Returns how many were killed. */
export async function killWorkersUntilDone(
  dir: string,
  url: string,
  pool: pg.Pool,
  o: CrashOptions = {},
): Promise<{ kills: number; output: string }> {
  const maxMs = o.maxMs ?? 480_000;
  const kills = o.kills ?? 8;
  const started = Date.now();
  let killed = 0;
  let output = '';
  while ((await progress(pool)).left !== 0) {
    if (Date.now() - started > maxMs) throw new Error(`the backfills did not finish in ${maxMs} ms\n${output}`);
    const w = spawnWorker(dir, url, ...(o.args ?? ['--threads', '1']));
    const before = (await progress(pool)).moved;
    const dead = () => w.exitCode !== null || w.signalCode !== null;
    if (killed >= kills) {
      // The last life: let it finish the backfills (a worker killed from outside meanwhile gets a successor).
      await until('the backfills', async () => ((await progress(pool)).left === 0 || dead() ? true : undefined), maxMs);
      w.kill('SIGTERM');
      await w.exited;
      output += w.output;
      if ((await progress(pool)).left === 0) break;
      continue;
    }
    await until(
      'the worker to commit a page',
      // A worker that died meanwhile (exited, or killed by a signal: then its exitCode stays null) ends the wait too.
      async () => ((await progress(pool)).moved > before || dead() ? true : undefined),
      90_000,
    );
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * (o.jitterMs ?? 400))));
    w.kill('SIGKILL');
    await w.exited;
    output += w.output;
    killed++;
  }
  const last = spawnWorker(dir, url, '--for', '2s');
  await last.exited;
  output += last.output;
  return { kills: killed, output };
}
