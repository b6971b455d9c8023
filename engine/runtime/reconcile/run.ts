/**
 * One run of a Reconciliation: its deployed definition (the worker has no workspace, only what was applied), each
 * side's records in the window read from its system, compared (compare.ts) and stored (state/reconciliations.ts).
 *
 * A side reads either
 * - a `stream`, through the connection's connector as a flow's source reads it: every record changed since the
 *   window's start (a record created in the window cannot have changed before it), kept when its `time` is in the
 *   window; or
 * - an `entity`, read back as `rsync xref verify` does: the ledger's target ids of the customer's flows that write
 *   that entity to the connection (those written since the window's start), fetched from the target. A record the
 *   target no longer has is not on that side. Records written into the system by anyone but rsync are not seen.
 *
 * A side that cannot be read makes a failed run (ok false, with the error), never an exception out of the worker.
 */
import { openConnector } from '../../connectors/registry.js';
import { redact } from '../../connectors/secrets.js';
import type { OpenConnector } from '../../connectors/types.js';
import { compile } from '../../jsonata/index.js';
import { DEFAULTS } from '../../model/generated/defaults.js';
import type { ReconciliationSide } from '../../model/generated/index.js';
import type { ResourceRow } from '../../state/deployments.js';
import { type ReconciliationRun, recordReconciliation } from '../../state/reconciliations.js';
import { parseDuration } from '../../util/duration.js';
import { isObject } from '../../util/merge.js';
import { type ConnectionDef, connection } from '../flows.js';
import { type RuntimeContext, sandboxed } from '../page-loop.js';
import { amountOf, type KeyedRecord, reconcile, type SideRecords, timeOf } from './compare.js';

/** A side as deployed: its connection resolved, what it reads, and its expressions. */
export interface SideDef extends Omit<ReconciliationSide, 'connection'> {
  connection: ConnectionDef;
  /** For an entity: the flows that write it to the connection (their ledger holds the target ids). */
  writers: string[];
}

export interface ReconciliationDef {
  env: string;
  /** `<customer>/reconciliation/<name>` */
  address: string;
  customer: string;
  name: string;
  revision: number;
  windowMs: number;
  settleMs: number;
  everyMs: number;
  maxKeys: number;
  left: SideDef;
  right: SideDef;
}

const ms = (v: unknown, fallback: string) => parseDuration(v) ?? parseDuration(fallback)!;

/** The deployed Reconciliations of an environment, from its resource rows. */
export function reconciliationDefs(env: string, rows: Map<string, ResourceRow>): ReconciliationDef[] {
  const out: ReconciliationDef[] = [];
  const flows = [...rows.values()].filter((r) => r.kind === 'flow');
  for (const r of rows.values()) {
    if (r.kind !== 'reconciliation' || !r.customer || !isObject(r.spec.spec)) continue;
    const s = r.spec.spec;
    const customer = r.customer;
    const sideOf = (v: unknown): SideDef | undefined => {
      if (!isObject(v) || typeof v.connection !== 'string' || typeof v.key !== 'string' || typeof v.time !== 'string')
        return undefined;
      const side = v as unknown as ReconciliationSide;
      const writers = flows
        .filter((f) => {
          const t = isObject(f.spec.spec) && isObject(f.spec.spec.target) ? f.spec.spec.target : {};
          return f.customer === customer && t.connection === side.connection && t.entity === side.entity;
        })
        .map((f) => f.address);
      return { ...side, connection: connection(rows, customer, side.connection), writers };
    };
    const left = sideOf(s.left);
    const right = sideOf(s.right);
    if (!left || !right) continue;
    const d = DEFAULTS.ReconciliationSpec;
    out.push({
      env,
      address: r.address,
      customer,
      name: r.name,
      revision: r.revision,
      windowMs: ms(s.window, d.window),
      settleMs: ms(s.settle, d.settle),
      everyMs: ms(s.every, d.every),
      maxKeys: typeof s.maxKeys === 'number' ? s.maxKeys : d.maxKeys,
      left,
      right,
    });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : 1));
}

export interface RunOptions {
  trigger: 'schedule' | 'manual';
  /** The window's length instead of the check's own (`rsync reconcile --window`). */
  windowMs?: number;
  /** The moment the window is counted back from (default now). */
  now?: Date;
  /** Told as each side's records are read. */
  onRead?: (side: 'left' | 'right', read: number) => void;
  /** Stops the reads (default: the runtime's signal, which a worker aborts when its drain runs out of time). */
  signal?: AbortSignal;
}

/** The runtime a run reads its systems through: the state database, and which systems the sandbox serves. */
export type ReconcileRuntime = Pick<RuntimeContext, 'db' | 'sandbox' | 'settings' | 'signal'>;

/** Run a check now and store its result. */
export async function runReconciliation(
  rt: ReconcileRuntime,
  def: ReconciliationDef,
  o: RunOptions,
): Promise<ReconciliationRun> {
  const startedAt = new Date();
  const end = new Date((o.now ?? startedAt).getTime() - def.settleMs);
  const start = new Date(end.getTime() - (o.windowMs ?? def.windowMs));
  const base = {
    env: def.env,
    address: def.address,
    customer: def.customer,
    name: def.name,
    revision: def.revision,
    trigger: o.trigger,
    windowStart: start,
    windowEnd: end,
    startedAt,
  };
  let compared: ReturnType<typeof reconcile>;
  const signal = o.signal ?? rt.signal;
  try {
    const window = { start: start.getTime(), end: end.getTime() };
    const left = await readSide(rt, def, def.left, window, (n) => o.onRead?.('left', n), signal);
    const right = await readSide(rt, def, def.right, window, (n) => o.onRead?.('right', n), signal);
    compared = reconcile(left, right, def.maxKeys);
  } catch (e) {
    const error = redact((e as Error).message ?? String(e));
    return recordReconciliation(rt.db, { ...base, ok: false, mismatches: 0, error, result: null });
  }
  return recordReconciliation(rt.db, { ...base, ...compared, error: null });
}

/** Records a side reads per page, and at most in all (a window too large to hold is an error, not a silent cut). */
const PAGE = 500;
const MAX_RECORDS = 2_000_000;
const FETCH_CHUNK = 50;

function open(rt: ReconcileRuntime, c: ConnectionDef): OpenConnector {
  const overlay = rt.settings?.get(c.system);
  return openConnector({
    system: c.system,
    connector: c.type,
    settings: overlay ? { ...c.settings, ...overlay } : c.settings,
    state: rt.db,
    sandbox: sandboxed(rt, c.system),
  });
}

/** A side's records in the window, each with its key, amount and currency. */
async function readSide(
  rt: ReconcileRuntime,
  def: ReconciliationDef,
  side: SideDef,
  window: { start: number; end: number },
  onRead: (n: number) => void,
  signal?: AbortSignal,
): Promise<SideRecords> {
  const c = open(rt, side.connection);
  const evaluate = expressions(side);
  const out: SideRecords = {
    system: side.connection.system,
    reads: side.stream !== undefined ? `stream ${side.stream}` : `entity ${side.entity}`,
    read: 0,
    records: [],
    invalid: { count: 0, reasons: [] },
  };
  const take = async (raw: unknown) => {
    out.read++;
    const record = typeof raw === 'string' ? JSON.parse(raw) : raw;
    const r = await evaluate(record, window);
    if (r === undefined) return;
    if ('problem' in r) {
      out.invalid.count++;
      if (out.invalid.reasons.length < def.maxKeys) out.invalid.reasons.push(r.problem);
    } else out.records.push(r);
  };
  try {
    if (side.stream !== undefined) {
      if (!c.read) throw new Error(`${side.connection.system} (connector ${side.connection.type}) cannot be read`);
      let cursor: unknown = null;
      for (;;) {
        signal?.throwIfAborted();
        const page = await c.read({
          stream: side.stream,
          cursor: cursor as never,
          limit: PAGE,
          since: new Date(window.start).toISOString(),
          signal,
        });
        for (const raw of page.records) await take(raw);
        onRead(out.read);
        if (out.read > MAX_RECORDS) throw new Error(tooMany(side));
        if (!page.more || !page.records.length) break;
        cursor = page.cursor;
      }
    } else {
      if (!c.fetch)
        throw new Error(
          `${side.connection.system} (connector ${side.connection.type}) cannot read its records back: read it as a stream instead`,
        );
      const { rows } = await rt.db.query<{ target_id: string }>(
        `SELECT target_id FROM rsync.ledger
          WHERE env = $1 AND address = ANY($2::text[]) AND target = $3 AND updated_at >= $4 ORDER BY target_id`,
        [def.env, side.writers, side.connection.system, new Date(window.start)],
      );
      if (rows.length > MAX_RECORDS) throw new Error(tooMany(side));
      for (let i = 0; i < rows.length; i += FETCH_CHUNK) {
        signal?.throwIfAborted();
        const found = await c.fetch(
          side.entity!,
          rows.slice(i, i + FETCH_CHUNK).map((r) => r.target_id),
          signal,
        );
        for (const f of found) if (f !== null && f !== undefined) await take(f);
        onRead(out.read);
      }
    }
  } finally {
    await c.close?.();
  }
  return out;
}

const tooMany = (side: SideDef) =>
  `${side.connection.system} has more than ${MAX_RECORDS.toLocaleString('en-US')} records in the window: give the check a shorter window`;

type Evaluated = KeyedRecord | { problem: string } | undefined;

/**
 * A side's expressions as one function of a record: undefined when the record is outside the window or filtered
 * out, its key, amount and currency, or why it cannot be compared (named by its key when it has one; never its
 * content).
 */
function expressions(side: SideDef): (record: unknown, window: { start: number; end: number }) => Promise<Evaluated> {
  const expr = (text: string | undefined) => {
    if (text === undefined) return undefined;
    const k = compile(text);
    if (!k.ok) throw new Error(`the expression ${JSON.stringify(text)} does not compile: ${k.problem.message}`);
    return k.expr;
  };
  const key = expr(side.key)!;
  const time = expr(side.time)!;
  const amount = expr(side.amount);
  const currency = expr(side.currency);
  const filter = expr(side.filter);
  const at = (field: string) => `${side.connection.system} ${field}`;
  return async (record, window) => {
    const t = timeOf(await time.evaluate(record).catch(() => undefined));
    if (t === undefined) return { problem: `${at('time')}: a record without a time` };
    if (t < window.start || t >= window.end) return undefined;
    if (filter && (await filter.evaluate(record).catch(() => false)) !== true) return undefined;
    const k = await key.evaluate(record).catch(() => undefined);
    if (typeof k !== 'string' && typeof k !== 'number') return { problem: `${at('key')}: a record without a key` };
    const out: KeyedRecord = { key: String(k) };
    if (amount) {
      const a = amountOf(await amount.evaluate(record).catch(() => undefined));
      if (!a) return { problem: `${at('amount')}: key ${out.key} has no decimal amount` };
      out.amount = a;
    }
    if (currency) {
      const cur = await currency.evaluate(record).catch(() => undefined);
      if (typeof cur !== 'string' || !cur) return { problem: `${at('currency')}: key ${out.key} has no currency` };
      out.currency = cur;
    }
    return out;
  };
}
