/**
 * What the console's pages show, read from the state database for one environment and one viewer's scope. A scope
 * with a customer (a customer viewer's) narrows every query to that customer's rows in SQL, so nothing of another
 * tenant is read at all — not its names, not its counts; an object of another customer is "not found".
 */
import type pg from 'pg';
import { type ApprovalRule, type PendingApproval, pendingApprovals } from '../apply/approvals.js';
import { listDeadLetters, type DeadLetter, type DeadLetterStatus } from '../state/dead-letters.js';
import { deployedVersion } from '../state/deployments.js';
import { getRun, listRuns } from '../state/runs.js';
import { type FlowDef, loadFlows } from '../runtime/flows.js';
import { maskPii, piiNames } from '../runtime/mask.js';
import { type FlowStatus, flowStatus } from '../runtime/status.js';
import type { ApprovalView, ChangeEntry, FlowPageView, JourneyFlow, Overview, OverviewRow } from './types.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** Whose objects a request may see: every customer's (null), or one customer's. */
export interface Scope {
  customer: string | null;
  /** Whether payloads (PII masked) may be shown. */
  payloads: boolean;
}

const inScope = (s: Scope, customer: string | null | undefined) => s.customer === null || s.customer === customer;

/** The deployed flows of an environment, read again only when an apply changed them. */
export class FlowCache {
  private version = '';
  private flows = new Map<string, FlowDef>();
  private pending?: Promise<Map<string, FlowDef>>;
  constructor(
    private db: Queryable,
    readonly env: string,
  ) {}

  async get(): Promise<Map<string, FlowDef>> {
    const v = await deployedVersion(this.db, this.env);
    if (v === this.version) return this.flows;
    this.pending ??= loadFlows(this.db, this.env).then((f) => {
      this.version = v;
      this.flows = f;
      this.pending = undefined;
      return f;
    });
    return this.pending;
  }

  async flow(s: Scope, address: string): Promise<FlowDef | undefined> {
    const f = (await this.get()).get(address);
    return f && inScope(s, f.customer) ? f : undefined;
  }
}

// ------------------------------------------------------------------------------------------ overview

/** One flow's row of the overview (status.ts's FlowStatus, trimmed to what the page shows: 10,000 rows are sent). */
function overviewRow(f: FlowStatus, day: number): OverviewRow {
  const budget = f.budget.records ?? f.budget.minutes;
  return {
    address: f.address,
    customer: f.customer,
    flow: f.flow,
    revision: f.revision,
    trigger: f.trigger,
    enabled: f.enabled,
    health: f.health,
    lastRun: f.lastRun ? { id: f.lastRun.id, status: f.lastRun.status, at: f.lastRun.at } : null,
    lagMs: f.lagMs,
    freshnessMs: f.freshnessMs,
    recordsLastHour: f.recordsLastHour,
    recordsLastDay: day,
    deadLetters: f.deadLetters,
    pendingDeliveries: f.pendingDeliveries,
    budgetLeft: budget ? budget.leftShare : null,
  };
}

export async function overview(db: Queryable, cache: FlowCache, s: Scope): Promise<Overview> {
  const all = [...(await cache.get()).values()].filter((f) => inScope(s, f.customer));
  const [status, day] = await Promise.all([
    flowStatus(db, cache.env, all),
    // By the environment (and the customer's prefix): not by a list of 10,000 addresses.
    db.query<{ address: string; n: number }>(
      `SELECT address, sum(read)::int AS n FROM rsync.runs
        WHERE env = $1 AND started_at > now() - interval '1 day' AND address LIKE $2 GROUP BY address`,
      [cache.env, s.customer === null ? '%' : `${s.customer.replace(/[\\%_]/g, '\\$&')}/%`],
    ),
  ]);
  const dayBy = new Map(day.rows.map((r) => [r.address, r.n]));
  const totals = { flows: status.length, ok: 0, late: 0, failing: 0, idle: 0, deadLetters: 0 };
  for (const f of status) {
    totals[f.health]++;
    totals.deadLetters += f.deadLetters;
  }
  return {
    env: cache.env,
    at: new Date().toISOString(),
    customers: [...new Set(status.map((f) => f.customer))].sort(),
    totals,
    flows: status.map((f) => overviewRow(f, dayBy.get(f.address) ?? 0)),
  };
}

// ------------------------------------------------------------------------------------------ one flow

export type FlowPage = FlowPageView<FlowStatus, Awaited<ReturnType<typeof listRuns>>[number]>;

export async function flowPage(db: Queryable, cache: FlowCache, s: Scope, address: string): Promise<FlowPage | null> {
  const f = await cache.flow(s, address);
  if (!f) return null;
  const env = cache.env;
  const { rows } = await db.query<{
    address: string;
    spec: Record<string, unknown>;
    commit: string | null;
    applied_at: Date;
    applied_by: string;
  }>(`SELECT address, spec, commit, applied_at, applied_by FROM rsync.resources WHERE env = $1 AND address = $2`, [
    env,
    address,
  ]);
  const row = rows[0];
  const eff = (row?.spec.effective ?? {}) as Record<string, unknown>;
  const related = [eff.policy, eff.sla].filter((a): a is string => typeof a === 'string');
  const others = related.length
    ? (
        await db.query<{ address: string; spec: Record<string, unknown> }>(
          `SELECT address, spec FROM rsync.resources WHERE env = $1 AND address = ANY($2)`,
          [env, related],
        )
      ).rows
    : [];
  const declared = (a: unknown) => {
    const r = others.find((o) => o.address === a);
    return r ? { address: r.address, spec: r.spec.spec ?? null } : null;
  };
  const [status, runs, volume] = await Promise.all([
    flowStatus(db, env, [f]),
    listRuns(db, env, { address, limit: 25 }),
    db.query<{ hour: Date; read: number; written: number; dead: number; p95: number | null }>(
      `SELECT date_trunc('hour', started_at) AS hour, sum(read)::int AS read, sum(written)::int AS written, sum(dead)::int AS dead,
              percentile_disc(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000)::int AS p95
         FROM rsync.runs WHERE env = $1 AND address = $2 AND started_at > now() - interval '48 hours'
        GROUP BY 1 ORDER BY 1`,
      [env, address],
    ),
  ]);
  return {
    address,
    customer: f.customer,
    flow: f.name,
    revision: f.revision,
    commit: row?.commit ?? null,
    appliedAt: row ? row.applied_at.toISOString() : null,
    appliedBy: row?.applied_by ?? null,
    trigger: { kind: f.trigger, event: f.event, schedule: f.schedule },
    source: { system: f.source.system, type: f.source.type, stream: f.source.stream },
    target: { system: f.target.system, type: f.target.type, entity: f.target.entity },
    key: f.key,
    mapping: { file: f.mappingFile, text: f.mapping },
    declared: { flow: row?.spec.spec ?? null, policy: declared(eff.policy), sla: declared(eff.sla) },
    status: status[0] ?? null,
    runs,
    volume: volume.rows.map((v) => ({
      hour: v.hour.toISOString(),
      read: v.read,
      written: v.written,
      dead: v.dead,
      p95Ms: v.p95,
    })),
  };
}

/** One run with its log, when its flow is in scope. */
export async function runPage(db: Queryable, env: string, s: Scope, id: number) {
  if (!Number.isSafeInteger(id) || id < 1) return null;
  const { rows } = await db.query<{ address: string }>(`SELECT address FROM rsync.runs WHERE env = $1 AND id = $2`, [
    env,
    id,
  ]);
  if (!rows[0] || !inScope(s, rows[0].address.split('/')[0])) return null;
  return (await getRun(db, id)) ?? null;
}

// ------------------------------------------------------------------------------------------ dead letters

export interface LetterFilter {
  flow?: string;
  error?: string;
  status?: DeadLetterStatus | 'all';
  assignee?: string;
  customer?: string;
  limit?: number;
}

/** What a viewer sees of a dead letter: without its payloads when the scope has none. */
export function letterView(l: DeadLetter, s: Scope): DeadLetter {
  return s.payloads ? l : { ...l, payload: null, edited: null };
}

export async function deadLetterList(db: Queryable, env: string, s: Scope, f: LetterFilter) {
  if (s.customer !== null && f.customer && f.customer !== s.customer) return { letters: [], groups: [] };
  const customer = s.customer ?? f.customer;
  const params: unknown[] = [env];
  const w = ['env = $1'];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    w.push(sql.replace('?', `$${params.length}`));
  };
  if (customer) add('customer = ?', customer);
  if (f.flow) add('address = ?', f.flow);
  if ((f.status ?? 'open') !== 'all') add('status = ?', f.status ?? 'open');
  if (f.error) add(`error ILIKE ?`, `%${f.error.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (f.assignee) add('assignee = ?', f.assignee);
  const where = w.join(' AND ');
  const [ids, groups] = await Promise.all([
    db.query<{ id: number }>(
      `SELECT id::int FROM rsync.dead_letters WHERE ${where} ORDER BY id DESC LIMIT ${Math.min(1000, Math.max(1, f.limit ?? 200))}`,
      params,
    ),
    db.query<{ address: string; error: string; n: number }>(
      `SELECT address, left(error, 120) AS error, count(*)::int AS n FROM rsync.dead_letters WHERE ${where}
        GROUP BY 1, 2 ORDER BY n DESC, address LIMIT 50`,
      params,
    ),
  ]);
  const letters = ids.rows.length
    ? await listDeadLetters(db, { env, ids: ids.rows.map((r) => r.id), status: 'all' })
    : [];
  letters.sort((a, b) => b.id - a.id);
  return { letters: letters.map((l) => letterView(l, s)), groups: groups.rows };
}

/** One dead letter, when it is in scope (else null: not found). */
export async function deadLetter(db: Queryable, env: string, s: Scope, id: number): Promise<DeadLetter | null> {
  if (!Number.isSafeInteger(id) || id < 1) return null;
  const [l] = await listDeadLetters(db, { env, ids: [id], status: 'all' });
  return l && inScope(s, l.customer) ? letterView(l, s) : null;
}

// ------------------------------------------------------------------------------------------ record journey

/**
 * A record's path through every flow of the environment, found by any of its ids: the idempotency key, the
 * source system's id, the target's id (the ledger), a webhook's delivery id or its record's `id` (deliveries), a
 * dead letter's key. Grouped per flow and key: an order, its refund and its journal are three flows' entries.
 */
export async function journey(db: Queryable, cache: FlowCache, s: Scope, q: string): Promise<JourneyFlow[]> {
  const term = q.trim();
  if (!term) return [];
  const env = cache.env;
  // $3: the term as a JSON id (a number when it looks like one: vendors' ids are numbers); $4: the customer's prefix.
  const scoped = s.customer === null ? '' : ' AND address LIKE $4';
  const asId = JSON.stringify(/^-?\d{1,15}$/.test(term) ? Number(term) : term);
  const params: unknown[] = [
    env,
    term,
    asId,
    ...(s.customer === null ? [] : [`${s.customer.replace(/[\\%_]/g, '\\$&')}/%`]),
  ];
  const [ledger, letters, deliveries] = await Promise.all([
    db.query<{
      address: string;
      key: string;
      source_id: string | null;
      target: string;
      target_id: string;
      writes: number;
      revision: number;
      updated_at: Date;
      /** updated_at to the microsecond (a Date keeps milliseconds): to find the delivery worked with the write. */
      at_text: string;
      target_view: unknown;
    }>(
      `SELECT address, key, source_id, target, target_id, writes, revision, updated_at, updated_at::text AS at_text, target_view FROM rsync.ledger
        WHERE env = $1 AND (key = $2 OR source_id = $2 OR target_id = $2) AND $3::jsonb IS NOT NULL${scoped}
        ORDER BY address, key LIMIT 100`,
      params,
    ),
    db.query<{ id: number; address: string; key: string | null }>(
      `SELECT id::int, address, key FROM rsync.dead_letters
        WHERE env = $1 AND (key = $2 OR payload @> jsonb_build_object('id', $2::text) OR payload @> jsonb_build_object('id', $3::jsonb))${scoped}
        ORDER BY id LIMIT 100`,
      params,
    ),
    db.query<{
      id: number;
      address: string;
      delivery_id: string;
      topic: string | null;
      received_at: Date;
      done_at: Date | null;
      done_text: string | null;
    }>(
      `SELECT id::int, address, delivery_id, topic, received_at, done_at, done_at::text AS done_text FROM rsync.deliveries
        WHERE env = $1 AND (delivery_id = $2 OR records @> jsonb_build_array(jsonb_build_object('id', $2::text))
                            OR records @> jsonb_build_array(jsonb_build_object('id', $3::jsonb)))${scoped}
        ORDER BY id LIMIT 100`,
      params,
    ),
  ]);
  // A delivery found by its id (or its record's) that was worked: the records its page wrote, as above, backwards.
  const worked = deliveries.rows.filter((d) => d.done_text !== null);
  if (worked.length) {
    const { rows } = await db.query<(typeof ledger.rows)[number]>(
      `SELECT l.address, l.key, l.source_id, l.target, l.target_id, l.writes, l.revision, l.updated_at, l.updated_at::text AS at_text, l.target_view
         FROM unnest($2::text[], $3::timestamptz[]) AS u(a, t)
         JOIN rsync.ledger l ON l.env = $1 AND l.address = u.a AND l.updated_at = u.t
        ORDER BY l.address, l.key LIMIT 100`,
      [env, worked.map((d) => d.address), worked.map((d) => d.done_text)],
    );
    const known = new Set(ledger.rows.map((r) => `${r.address}\n${r.key}`));
    ledger.rows.push(...rows.filter((r) => !known.has(`${r.address}\n${r.key}`)));
  }
  const flows = await cache.get();
  const byKey = new Map<string, JourneyFlow>();
  const entry = (address: string, key: string | null): JourneyFlow => {
    const k = `${address}\n${key ?? ''}`;
    let e = byKey.get(k);
    if (!e) {
      e = {
        address,
        customer: address.split('/')[0],
        key,
        sourceId: null,
        target: null,
        targetId: null,
        writes: 0,
        revision: null,
        view: null,
        steps: [],
      };
      byKey.set(k, e);
    }
    return e;
  };
  for (const r of ledger.rows) {
    const e = entry(r.address, r.key);
    const pii = piiNames(flows.get(r.address)?.pii ?? []);
    Object.assign(e, {
      sourceId: r.source_id,
      target: r.target,
      targetId: r.target_id,
      writes: r.writes,
      revision: r.revision,
      view: s.payloads && r.target_view ? maskPii(r.target_view, pii) : null,
    });
    e.steps.push({
      at: r.updated_at.toISOString(),
      step: 'written',
      detail: `mapped and sent to ${r.target} as ${r.target_id} (revision ${r.revision}${r.writes > 1 ? `, ${r.writes} writes` : ''})`,
    });
  }
  // Every dead letter of the keys found, and the letters found by their own ids.
  const keys = [...byKey.values()].map((e) => [e.address, e.key ?? ''] as const);
  const more = keys.length
    ? await db.query<{ id: number }>(
        `SELECT id::int FROM rsync.dead_letters d JOIN unnest($2::text[], $3::text[]) AS u(a, k) ON d.address = u.a AND d.key = u.k WHERE d.env = $1`,
        [env, keys.map((k) => k[0]), keys.map((k) => k[1])],
      )
    : { rows: [] };
  const letterIds = [...new Set([...letters.rows.map((r) => r.id), ...more.rows.map((r) => r.id)])];
  const full = letterIds.length ? await listDeadLetters(db, { env, ids: letterIds, status: 'all' }) : [];
  for (const l of full) {
    if (!inScope(s, l.customer)) continue;
    const e = entry(l.address, l.key);
    e.steps.push({
      at: l.createdAt,
      step: 'dead-lettered',
      detail: `at ${l.stage} (revision ${l.revision}, ${l.attempts} attempt${l.attempts === 1 ? '' : 's'}): ${l.error}`,
      run: l.runId,
      letter: l.id,
    });
    if (l.editedAt) e.steps.push({ at: l.editedAt, step: 'edited', detail: `by ${l.editedBy}`, letter: l.id });
    if (l.resolvedAt) {
      const res = (l.resolution ?? {}) as Record<string, unknown>;
      const step = l.status === 'replayed' ? 'replayed' : l.status === 'discarded' ? 'discarded' : 'resolved';
      const why = typeof res.reason === 'string' ? `: ${res.reason}` : '';
      const outcome = typeof res.outcome === 'string' ? ` (${res.outcome}, run ${res.run})` : '';
      e.steps.push({ at: l.resolvedAt, step, detail: `by ${l.resolvedBy}${outcome}${why}`, letter: l.id });
    }
  }
  // The webhook deliveries that brought the records found in the ledger. A worked delivery keeps no records (they
  // are dropped once worked), but it is marked done in the transaction that writes its page's ledger entries: the
  // same now(), so the delivery worked when a record was last written is the one of the same flow and instant.
  const brought = ledger.rows.length
    ? await db.query<(typeof deliveries.rows)[number]>(
        `SELECT d.id::int, d.address, d.delivery_id, d.topic, d.received_at, d.done_at, d.done_at::text AS done_text
           FROM unnest($2::text[], $3::timestamptz[]) AS u(a, t)
           JOIN rsync.deliveries d ON d.env = $1 AND d.address = u.a AND d.done_at = u.t
          ORDER BY d.id LIMIT 100`,
        [env, ledger.rows.map((r) => r.address), ledger.rows.map((r) => r.at_text)],
      )
    : { rows: [] };
  const seen = new Set<number>();
  for (const d of [...deliveries.rows, ...brought.rows]) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    // A delivery holds records, not keys: it joins the flow's entries found by the same id, or stands alone.
    const e = [...byKey.values()].find((x) => x.address === d.address) ?? entry(d.address, null);
    e.steps.push({
      at: d.received_at.toISOString(),
      step: 'received',
      detail: `webhook ${d.topic ?? ''} delivery ${d.delivery_id} received${d.done_at ? `, worked ${d.done_at.toISOString()}` : ', not worked yet'}`,
    });
  }
  // Runs that retried: the dead letters' runs' back-off waits.
  const runs = [...new Set(full.map((l) => l.runId).filter((r): r is number => r !== null))];
  if (runs.length) {
    const { rows } = await db.query<{ id: number; address: string; retries: number; started_at: Date }>(
      `SELECT id::int, address, retries, started_at FROM rsync.runs WHERE env = $1 AND id = ANY($2) AND retries > 0`,
      [env, runs],
    );
    for (const r of rows)
      for (const e of byKey.values())
        if (e.address === r.address && e.steps.some((x) => x.run === r.id))
          e.steps.push({
            at: r.started_at.toISOString(),
            step: 'retried',
            detail: `run ${r.id} waited and retried ${r.retries} time(s) (back-off)`,
            run: r.id,
          });
  }
  const out = [...byKey.values()].filter((e) => inScope(s, e.customer));
  for (const e of out) e.steps.sort((a, b) => a.at.localeCompare(b.at));
  return out.sort((a, b) => a.address.localeCompare(b.address) || (a.key ?? '').localeCompare(b.key ?? ''));
}

// ------------------------------------------------------------------------------------------ changes

/** The environment's applies and promotions (the apply log), and the plans awaiting approval (not for a customer viewer). */
export async function changes(db: Queryable, pool: pg.Pool, env: string, s: Scope, rule: ApprovalRule) {
  const { rows } = await db.query<{
    n: string;
    at: Date;
    action: string;
    actor: string;
    commit: string | null;
    ref: string | null;
    detail: Record<string, unknown>;
  }>(
    `SELECT n, at, action, actor, commit, ref, detail FROM rsync.apply_log
      WHERE env = $1 AND action IN ('apply', 'promote') ORDER BY n DESC LIMIT 100`,
    [env],
  );
  const mine = (a: string) => s.customer === null || a.split(' ').pop()!.startsWith(`${s.customer}/`);
  const entries: ChangeEntry[] = [];
  for (const r of rows) {
    const d = r.detail;
    const all = Array.isArray(d.changes) ? (d.changes as string[]) : [];
    const list = all.filter(mine);
    if (s.customer !== null && !list.length) continue;
    const applied = typeof d.applied === 'number' ? d.applied : undefined;
    entries.push({
      n: Number(r.n),
      at: r.at.toISOString(),
      action: r.action,
      actor: r.actor,
      commit: r.commit,
      ref: r.ref,
      summary:
        s.customer === null
          ? `${d.changeCount ?? all.length} change(s)${applied !== undefined ? `, ${applied} applied` : ''}${Array.isArray(d.customers) && d.customers.length ? ` for ${(d.customers as string[]).join(', ')}` : ''}`
          : `${list.length} change(s)`,
      changes: list.slice(0, 200),
    });
  }
  return {
    entries,
    approvals:
      s.customer === null && rule.requiresApproval ? (await pendingApprovals({ pool }, rule)).map(approvalView) : [],
  };
}

/** A plan awaiting approval as the Changes page shows it: who made it, what it changes, who approved it. */
const approvalView = (p: PendingApproval): ApprovalView => ({
  hash: p.hash,
  author: p.author,
  commit: p.commit,
  createdAt: p.createdAt,
  summary: p.summary,
  required: p.required,
  missing: p.missing,
  separateAuthor: p.separateAuthor,
  approvals: p.approvals.map((a) => ({ approver: a.approver, at: a.at, reason: a.reason })),
});
