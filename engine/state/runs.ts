/** Reading runs and status: `rsync runs`, `rsync status`, and what `rsync run --wait` shows. */
import type pg from 'pg';
import type { Counts } from '../runtime/pipeline.js';
import type { FlowDef } from '../runtime/flows.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface RunRow extends Counts {
  id: number;
  address: string;
  revision: number;
  trigger: string;
  status: string;
  worker: string;
  startedAt: string;
  finishedAt: string | null;
  retries: number;
  error: string | null;
  log: Record<string, unknown>[];
}

const RUN_COLUMNS = `id::int, address, revision, trigger, status, worker, started_at AS "startedAt", finished_at AS "finishedAt",
  read::int, written::int, unchanged::int, filtered::int, dead::int, retries, error, log`;

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d === null || d === undefined ? null : String(d));

function toRun(r: Record<string, unknown>): RunRow {
  return { ...(r as unknown as RunRow), startedAt: iso(r.startedAt)!, finishedAt: iso(r.finishedAt) };
}

export async function listRuns(
  db: Queryable,
  env: string,
  opts: { address?: string; customer?: string; limit?: number } = {},
): Promise<RunRow[]> {
  const params: unknown[] = [env];
  const w = ['env = $1'];
  if (opts.address) {
    params.push(opts.address);
    w.push(`address = $${params.length}`);
  }
  if (opts.customer) {
    params.push(`${opts.customer}/%`);
    w.push(`address LIKE $${params.length}`);
  }
  params.push(opts.limit ?? 20);
  const { rows } = await db.query(
    `SELECT ${RUN_COLUMNS} FROM rsync.runs WHERE ${w.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRun);
}

export async function getRun(db: Queryable, id: number): Promise<RunRow | undefined> {
  const { rows } = await db.query(`SELECT ${RUN_COLUMNS} FROM rsync.runs WHERE id = $1`, [id]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

export interface FlowStatus {
  address: string;
  customer: string;
  flow: string;
  revision: number;
  trigger: string;
  enabled: boolean;
  lastRun: { id: number; status: string; at: string; read: number; written: number; dead: number } | null;
  /** How far the target is behind: since the last successful run (schedule, manual), or the oldest pending delivery (event). */
  lagMs: number | null;
  freshnessMs: number | null;
  /** ok, late (lag beyond the SLA's freshness), failing (the last run failed), idle (never ran). */
  health: 'ok' | 'late' | 'failing' | 'idle';
  recordsLastHour: number;
  deadLetters: number;
  pendingDeliveries: number;
}

export async function flowStatus(
  db: Queryable,
  env: string,
  flows: Iterable<FlowDef>,
  customer?: string,
): Promise<FlowStatus[]> {
  const list = [...flows]
    .filter((f) => !customer || f.customer === customer)
    .sort((a, b) => a.address.localeCompare(b.address));
  const addresses = list.map((f) => f.address);
  const [last, ok, hour, dead, pending] = await Promise.all([
    db.query(
      `SELECT DISTINCT ON (address) address, id::int, status, coalesce(finished_at, started_at) AS at, read::int, written::int, dead::int
         FROM rsync.runs WHERE env = $1 AND address = ANY($2) ORDER BY address, id DESC`,
      [env, addresses],
    ),
    db.query(
      `SELECT address, max(finished_at) AS at FROM rsync.runs WHERE env = $1 AND address = ANY($2) AND status = 'succeeded' GROUP BY address`,
      [env, addresses],
    ),
    db.query(
      `SELECT address, sum(read)::int AS n FROM rsync.runs WHERE env = $1 AND address = ANY($2) AND started_at > now() - interval '1 hour' GROUP BY address`,
      [env, addresses],
    ),
    db.query(
      `SELECT address, count(*)::int AS n FROM rsync.dead_letters WHERE env = $1 AND address = ANY($2) AND status = 'open' GROUP BY address`,
      [env, addresses],
    ),
    db.query(
      `SELECT address, count(*)::int AS n, min(received_at) AS oldest FROM rsync.deliveries WHERE env = $1 AND address = ANY($2) AND done_at IS NULL GROUP BY address`,
      [env, addresses],
    ),
  ]);
  const by = <T>(rows: Record<string, unknown>[]) => new Map(rows.map((r) => [String(r.address), r as T]));
  const lastBy = by<{ id: number; status: string; at: Date; read: number; written: number; dead: number }>(last.rows);
  const okBy = by<{ at: Date }>(ok.rows);
  const hourBy = by<{ n: number }>(hour.rows);
  const deadBy = by<{ n: number }>(dead.rows);
  const pendingBy = by<{ n: number; oldest: Date }>(pending.rows);
  const now = Date.now();
  return list.map((f) => {
    const l = lastBy.get(f.address);
    const p = pendingBy.get(f.address);
    const okAt = okBy.get(f.address)?.at;
    const lagMs =
      f.trigger === 'event'
        ? p
          ? now - new Date(p.oldest).getTime()
          : l
            ? 0
            : null
        : okAt
          ? now - new Date(okAt).getTime()
          : null;
    const freshnessMs = f.freshnessMs ?? null;
    const health: FlowStatus['health'] =
      l?.status === 'failed'
        ? 'failing'
        : !l
          ? 'idle'
          : freshnessMs !== null && lagMs !== null && lagMs > freshnessMs
            ? 'late'
            : 'ok';
    return {
      address: f.address,
      customer: f.customer,
      flow: f.name,
      revision: f.revision,
      trigger: f.trigger,
      enabled: f.enabled,
      lastRun: l
        ? {
            id: l.id,
            status: l.status,
            at: new Date(l.at).toISOString(),
            read: l.read,
            written: l.written,
            dead: l.dead,
          }
        : null,
      lagMs,
      freshnessMs,
      health,
      recordsLastHour: hourBy.get(f.address)?.n ?? 0,
      deadLetters: deadBy.get(f.address)?.n ?? 0,
      pendingDeliveries: p?.n ?? 0,
    };
  });
}
