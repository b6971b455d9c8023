/**
 * rsync.record_samples: the last source records each flow read (at most SAMPLE_CAP per flow, PII masked), replaced
 * in place. The pipeline writes them in each page's transaction (runtime/samples.ts picks and masks them); `rsync
 * plan --impact` reads them (plan/index.ts) to run both revisions of a changed flow over real records offline.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** The most records kept per flow (the newest replace the oldest). */
export const SAMPLE_CAP = 200;

/** A flow's stored sample: its records, newest first, and when the newest was read. */
export interface FlowSample {
  records: unknown[];
  newest: string | null;
}

/**
 * Add `records` (already masked, at most SAMPLE_CAP) to a flow's samples, each in the slot after the flow's newest.
 * The rows are written in slot order, so two pages of one flow committing at once lock them in the same order.
 */
export async function addSamples(
  db: Queryable,
  flow: { env: string; address: string; revision: number },
  records: readonly unknown[],
): Promise<void> {
  if (!records.length) return;
  await db.query(
    `WITH head AS (SELECT coalesce(max(seq), -1) AS seq FROM rsync.record_samples WHERE env = $1 AND address = $2)
     INSERT INTO rsync.record_samples AS s (env, address, slot, seq, revision, record, sampled_at)
     SELECT $1, $2, ((head.seq + n) % $5)::int, head.seq + n, $3, r, now()
       FROM head, unnest($4::jsonb[]) WITH ORDINALITY AS u(r, n)
      ORDER BY ((head.seq + n) % $5)
     ON CONFLICT (env, address, slot) DO UPDATE
        SET seq = excluded.seq, revision = excluded.revision, record = excluded.record, sampled_at = excluded.sampled_at`,
    [flow.env, flow.address, flow.revision, records.slice(-SAMPLE_CAP).map((r) => JSON.stringify(r)), SAMPLE_CAP],
  );
}

/** The stored samples of these flows (up to `limit` each, newest first); a flow with none is absent. */
export async function readSamples(
  db: Queryable,
  env: string,
  addresses: readonly string[],
  limit = SAMPLE_CAP,
): Promise<Map<string, FlowSample>> {
  const out = new Map<string, FlowSample>();
  if (!addresses.length) return out;
  const { rows } = await db.query<{ address: string; record: unknown; sampled_at: Date }>(
    `SELECT address, record, sampled_at FROM (
       SELECT address, record, sampled_at, row_number() OVER (PARTITION BY address ORDER BY seq DESC) AS n
         FROM rsync.record_samples WHERE env = $1 AND address = ANY($2)) s
      WHERE n <= $3 ORDER BY address, n`,
    [env, [...new Set(addresses)], limit],
  );
  for (const r of rows) {
    let s = out.get(r.address);
    if (!s) out.set(r.address, (s = { records: [], newest: r.sampled_at.toISOString() }));
    s.records.push(r.record);
  }
  return out;
}
