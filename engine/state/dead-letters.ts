/**
 * Dead letters: list, show, replay, discard. A replay runs the kept source record through the pipeline again on
 * the revision asked for — by default the flow's current one, so a mapping fixed in Git and applied repairs the old
 * failures — and lands it exactly once (the ledger). Every replay and discard is appended to the audit log (the
 * hash-chained apply log) with who did it. What is shown is the masked payload; the record kept for replay is
 * dropped once the letter is resolved.
 */
import type pg from 'pg';
import { appendLog } from './apply-log.js';
import { RsyncError, ExitCode } from '../errors.js';
import { loadFlowRevision, type FlowDef } from '../runtime/flows.js';
import { connectorFor, type RuntimeContext } from '../runtime/page-loop.js';
import { withTransaction } from './tx.js';
import { finishRun, processPage, startRun } from '../runtime/pipeline.js';

export interface DeadLetter {
  id: number;
  env: string;
  address: string;
  customer: string;
  revision: number;
  runId: number | null;
  key: string | null;
  stage: string;
  error: string;
  attempts: number;
  payload: unknown;
  status: 'open' | 'replayed' | 'discarded';
  createdAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: unknown;
}

export interface LetterFilter {
  env: string;
  flow?: string;
  customer?: string;
  ids?: number[];
  status?: 'open' | 'replayed' | 'discarded' | 'all';
  limit?: number;
}

/** A flow given as `customer/name`, `customer/flow/name`, or `name` with a customer filter → its address. */
export function flowAddress(flow: string, customer?: string): string {
  const parts = flow.split('/');
  if (parts.length === 3 && parts[1] === 'flow') return flow;
  if (parts.length === 2) return `${parts[0]}/flow/${parts[1]}`;
  if (parts.length === 1 && customer) return `${customer}/flow/${flow}`;
  throw new RsyncError(
    `"${flow}" does not name a flow`,
    ExitCode.USAGE,
    'Name a flow as <customer>/<flow> (e.g. northwind/orders-to-erp), or give --customer.',
  );
}

function where(f: LetterFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [f.env];
  const w = ['env = $1'];
  if (f.flow) {
    params.push(flowAddress(f.flow, f.customer));
    w.push(`address = $${params.length}`);
  }
  if (f.customer) {
    params.push(f.customer);
    w.push(`customer = $${params.length}`);
  }
  if (f.ids?.length) {
    params.push(f.ids);
    w.push(`id = ANY($${params.length})`);
  }
  if ((f.status ?? 'open') !== 'all') {
    params.push(f.status ?? 'open');
    w.push(`status = $${params.length}`);
  }
  return { sql: w.join(' AND '), params };
}

const COLUMNS = `id::int, env, address, customer, revision, run_id::int AS "runId", key, stage, error, attempts, payload, status,
  created_at AS "createdAt", resolved_at AS "resolvedAt", resolved_by AS "resolvedBy", resolution`;

export async function listLetters(db: Pick<pg.Pool, 'query'>, f: LetterFilter): Promise<DeadLetter[]> {
  const w = where(f);
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM rsync.dead_letters WHERE ${w.sql} ORDER BY id LIMIT ${Math.max(1, f.limit ?? 1000)}`,
    w.params,
  );
  return rows.map((r) => ({
    ...r,
    createdAt: iso(r.createdAt),
    resolvedAt: r.resolvedAt ? iso(r.resolvedAt) : null,
  })) as DeadLetter[];
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : String(d));

export interface ReplayOutcome {
  id: number;
  address: string;
  revision: number;
  outcome: 'written' | 'unchanged' | 'filtered' | 'dead';
  error?: string;
}

/** Replay letters (each on `revision`, default the flow's current one); appends one audit entry. */
export async function replayLetters(
  rt: RuntimeContext,
  f: LetterFilter,
  actor: string,
  revision?: number,
): Promise<ReplayOutcome[]> {
  const db = rt.db;
  const w = where({ ...f, status: 'open' });
  const letters = (
    await db.query<{ id: number; address: string; replay: unknown }>(
      `SELECT id::int, address, replay FROM rsync.dead_letters WHERE ${w.sql} ORDER BY id`,
      w.params,
    )
  ).rows;
  const byFlow = new Map<string, typeof letters>();
  for (const l of letters) byFlow.set(l.address, [...(byFlow.get(l.address) ?? []), l]);
  const out: ReplayOutcome[] = [];
  const client = await db.connect();
  try {
    for (const [address, list] of byFlow) {
      const flow: FlowDef | undefined = await loadFlowRevision(db, f.env, address, revision);
      if (!flow)
        throw new RsyncError(
          `flow ${address} has no ${revision ? `revision ${revision}` : 'deployed revision'} in ${f.env}`,
          ExitCode.NO_INPUT,
          'See `rsync history --address` for its revisions.',
        );
      const run = await startRun(db, flow, 'replay', rt.worker);
      try {
        await withTransaction(client, async () => {
          const { finals } = await processPage(
            { db, mapper: rt.mapper, target: connectorFor(rt, flow.target), signal: rt.signal, log: rt.log },
            run,
            client,
            { records: list.map((l) => l.replay), deadLetter: false },
          );
          for (let i = 0; i < list.length; i++) {
            const fin = finals[i];
            const o: ReplayOutcome = {
              id: list[i].id,
              address,
              revision: flow.revision,
              outcome: fin.outcome,
              ...(fin.outcome === 'dead' ? { error: fin.error } : {}),
            };
            out.push(o);
            if (fin.outcome === 'dead') {
              await client.query(
                `UPDATE rsync.dead_letters SET error = $2, stage = $3, attempts = attempts + 1, revision = $4 WHERE id = $1`,
                [o.id, fin.error, fin.stage, flow.revision],
              );
            } else {
              await client.query(
                `UPDATE rsync.dead_letters SET status = 'replayed', resolved_at = now(), resolved_by = $2, resolution = $3, replay = NULL WHERE id = $1`,
                [o.id, actor, JSON.stringify({ outcome: fin.outcome, revision: flow.revision, run: run.id })],
              );
            }
          }
          await appendLog(client, {
            env: f.env,
            action: 'dlq-replay',
            actor,
            detail: {
              address,
              revision: flow.revision,
              run: run.id,
              letters: list.map((l) => l.id),
              outcomes: out.filter((o) => o.address === address).map((o) => ({ id: o.id, outcome: o.outcome })),
            },
          });
        });
      } catch (e) {
        await finishRun(db, run, 'failed', (e as Error).message);
        throw e;
      }
      await finishRun(db, run, 'succeeded');
    }
  } finally {
    client.release();
  }
  return out;
}

/** Discard letters (they stay, marked discarded, with who and why); appends one audit entry. */
export async function discardLetters(db: pg.Pool, f: LetterFilter, actor: string, reason?: string): Promise<number[]> {
  const w = where({ ...f, status: 'open' });
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{ id: number; address: string }>(
      `UPDATE rsync.dead_letters SET status = 'discarded', resolved_at = now(), resolved_by = $${w.params.length + 1},
                resolution = $${w.params.length + 2}, replay = NULL
          WHERE ${w.sql} RETURNING id::int, address`,
      [...w.params, actor, JSON.stringify({ reason: reason ?? null })],
    );
    if (rows.length)
      await appendLog(client, {
        env: f.env,
        action: 'dlq-discard',
        actor,
        detail: { letters: rows.map((r) => r.id), reason: reason ?? null },
      });
    return rows.map((r) => r.id);
  });
}
