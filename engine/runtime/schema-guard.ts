/**
 * The schema guard: before a run's first write, the target's schema as it is now (TargetConnector.describeTarget:
 * a postgres table's columns) is compared with what the flow's revision writes — the top-level fields its applied
 * mapping outputs, read from the mapping's AST (jsonata/analyse.ts) — and with the schema the last passing check
 * saw (state/schema-guards.ts). A change that would lose data or fail every write pauses the flow, with one
 * diagnostic, instead of dead-lettering each record:
 *  - dropped: a field the flow writes that the target had at the last passing check and has no more (its values
 *    would be lost, or every write would fail on it);
 *  - required: a field the target now requires (NOT NULL without a default) that the flow does not write;
 *  - type: a field the flow writes whose type changed, since the last passing check, to one its values may not fit
 *    (text to a number, a date, a boolean…; a change to text or json, which take any value, is not one).
 * The check throws before anything of the page is written or committed: nothing is dead-lettered, the cursor does
 * not move, a delivery stays pending, and after the fix and `rsync resume` the same records are written.
 *
 * Once a run: the result is kept per run (a WeakMap on its handle), so pages after the first pay nothing. A mapping
 * whose output fields cannot be known without running it ($merge…) is checked for nothing but type changes of
 * fields it wrote; a target the connector cannot describe is not checked; a describe that fails (the target is
 * down) lets the write find out, as before.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { compile, lineColumn, outputFields } from '../jsonata/index.js';
import { ConnectorError, type TargetSchema } from '../connectors/types.js';
import { redact } from '../connectors/secrets.js';
import { notifyWork } from '../live/notify.js';
import { setPaused } from '../state/pauses.js';
import { appendRunLog } from '../state/runs.js';
import { readSchemaGuard, type SchemaChange, type SchemaFinding, saveSchemaGuard } from '../state/schema-guards.js';
import type { FlowDef } from './flows.js';
// Types only: plan/ reads writtenFields, and should not load the pipeline for it.
import type { PipelineContext, RunHandle } from './pipeline.js';

/** Who the apply log and `rsync status` say paused a flow the guard paused. */
export const SCHEMA_GUARD_ACTOR = 'rsync schema guard';

/** What the pipeline gives the guard: the state database, the target, the log. */
export type GuardContext = Pick<PipelineContext, 'db' | 'target' | 'signal' | 'log'>;

/** Thrown out of a page when the guard paused its flow: the run fails with the diagnostic's summary. */
export class SchemaGuardStop extends ConnectorError {
  constructor(readonly diagnostic: Diagnostic) {
    super(`${diagnostic.summary}: the flow is paused; ${diagnostic.detail}`, false, undefined, undefined, 'permanent');
    this.name = 'SchemaGuardStop';
  }
}

const checked = new WeakMap<RunHandle, Promise<void>>();

/** The guard of one run (`run` is its handle): checked once, before its first write. */
export function guardRun(ctx: GuardContext, run: RunHandle): Promise<void> {
  if (!ctx.target.describeTarget) return Promise.resolve();
  let p = checked.get(run);
  if (!p) {
    p = check(ctx, run);
    checked.set(run, p);
  }
  return p;
}

const writesByMapping = new Map<string, string[] | null>();

/** The top-level fields a mapping outputs (null: not known without running it), by the mapping's text. */
export function writtenFields(mapping: string): string[] | null {
  let w = writesByMapping.get(mapping);
  if (w === undefined) {
    const c = compile(mapping);
    const all = c.ok ? outputFields(c.expr) : undefined;
    w = all ? [...new Set(all.map((f) => f.split('.')[0]).filter((f) => !f.startsWith('$')))].sort() : null;
    if (writesByMapping.size >= 1_000) writesByMapping.clear();
    writesByMapping.set(mapping, w);
  }
  return w;
}

/** Which category of value a target type takes: a change between two of them may fail writes. */
function category(type: string): string {
  const t = type.toLowerCase();
  if (/^(text|character|char|varchar|citext|name|string)/.test(t)) return 'text';
  if (/^(json|jsonb|object|array)/.test(t)) return 'json';
  if (/^(smallint|integer|bigint|int|numeric|decimal|real|double|number|float|money)/.test(t)) return 'number';
  if (/^(bool)/.test(t)) return 'boolean';
  if (/^(date|time|timestamp|interval)/.test(t)) return 'time';
  return t;
}

/** The changes that make the target no longer fit what the flow writes (empty: it fits). */
export function compareSchema(
  writes: readonly string[] | null,
  target: TargetSchema,
  seen: Readonly<Record<string, string>> | undefined,
): SchemaChange[] {
  const now = new Map(target.fields.map((f) => [f.name, f]));
  const filled = new Set(target.filled ?? []);
  const out: SchemaChange[] = [];
  if (writes && seen)
    for (const f of writes)
      if (!now.has(f) && !filled.has(f) && f in seen) out.push({ field: f, change: 'dropped', before: seen[f] });
  if (writes)
    for (const f of target.fields)
      if (f.required && !filled.has(f.name) && !writes.includes(f.name))
        out.push({ field: f.name, change: 'required', after: f.type });
  if (seen)
    for (const f of writes ?? Object.keys(seen)) {
      const was = seen[f];
      const is = now.get(f)?.type;
      if (!was || !is || was === is) continue;
      const c = category(is);
      if (c !== category(was) && c !== 'text' && c !== 'json')
        out.push({ field: f, change: 'type', before: was, after: is });
    }
  return out;
}

const says = (c: SchemaChange): string =>
  c.change === 'dropped'
    ? `field ${c.field} (${c.before}) was dropped`
    : c.change === 'required'
      ? `field ${c.field} (${c.after}) is now required and the flow does not write it`
      : `field ${c.field} changed type from ${c.before} to ${c.after}`;

const fix = (c: SchemaChange): string =>
  c.change === 'dropped'
    ? `add ${c.field} back (${c.before})`
    : c.change === 'required'
      ? `make ${c.field} optional or give it a default`
      : `change ${c.field} back to ${c.before}`;

/** The one diagnostic of a guard's finding: which flow, which target, which fields, what changed, how to fix. */
export function guardDiagnostic(flow: FlowDef, target: TargetSchema, changes: SchemaChange[]): Diagnostic {
  const name = flow.address.replace('/flow/', '/');
  const where = `${flow.target.system} ${flow.target.entity} (${target.name})`;
  // At the first mention of the first field in the mapping, when the mapping names it.
  const at = flow.mapping.search(
    new RegExp(`["'\`]?\\b${changes[0].field.replace(/[^A-Za-z0-9_]/g, '')}\\b["'\`]?\\s*:`),
  );
  const start = at >= 0 ? lineColumn(flow.mapping, at) : { line: 1, column: 1 };
  return {
    severity: 'error',
    code: 'target-schema-changed',
    summary: `target schema changed: ${where} no longer fits what flow ${name} writes: ${changes.map(says).join('; ')}`,
    detail:
      `Writing would ${changes.some((c) => c.change === 'dropped') ? 'lose those values or ' : ''}fail for every record, ` +
      'so the flow was paused before its first write: nothing was written or dead-lettered, and its records wait ' +
      `where the cursor stands. Fix: alter the target back (${changes.map(fix).join('; ')}), or change the mapping` +
      `${flow.mappingFile ? ` ${flow.mappingFile}` : ''} and apply; then \`rsync resume ${name} --env ${flow.env}\`.`,
    ...(flow.mappingFile ? { range: { file: flow.mappingFile, start } } : {}),
    address: `${flow.env}/${flow.address}`,
  };
}

async function check(ctx: GuardContext, run: RunHandle): Promise<void> {
  const flow = run.flow;
  let target: TargetSchema;
  try {
    target = await ctx.target.describeTarget!(flow.target.entity, ctx.signal);
  } catch (e) {
    // The target cannot be described now (down, or refusing the catalogue): the writes will find out as before.
    await appendRunLog(ctx.db, run.id, { event: 'schema-guard', skipped: redact((e as Error).message ?? String(e)) });
    return;
  }
  const writes = target.writes ?? writtenFields(flow.mapping);
  const before = await readSchemaGuard(ctx.db, flow.env, flow.address);
  const changes = compareSchema(writes, target, before?.seen);
  const seen = Object.fromEntries(target.fields.map((f) => [f.name, f.type]));
  const base = { env: flow.env, address: flow.address, target: `${flow.target.system} ${flow.target.entity}` };
  if (!changes.length) {
    const same =
      before &&
      !before.finding &&
      before.revision === flow.revision &&
      JSON.stringify(before.seen) === JSON.stringify(seen) &&
      JSON.stringify(before.writes) === JSON.stringify(writes);
    if (!same) await saveSchemaGuard(ctx.db, { ...base, revision: flow.revision, writes, seen, finding: null });
    return;
  }
  const diagnostic = guardDiagnostic(flow, target, changes);
  const finding: SchemaFinding = {
    diagnostic,
    changes,
    byMapping: target.writes === undefined,
    run: run.id,
    at: new Date().toISOString(),
  };
  const row = { ...base, revision: flow.revision, writes, seen, finding };
  const paused = await setPaused(
    ctx.db,
    { env: flow.env, address: flow.address, actor: SCHEMA_GUARD_ACTOR, reason: diagnostic.summary, pause: true },
    async (tx) => {
      await saveSchemaGuard(tx, row);
      await notifyWork(tx, flow.env, flow.address);
    },
  );
  // Already paused (a replay of a paused flow's dead letters): the finding is recorded all the same.
  if (!paused.changed) await saveSchemaGuard(ctx.db, row);
  await appendRunLog(ctx.db, run.id, { event: 'schema-guard', diagnostic });
  ctx.log?.(`  ${diagnostic.summary}\n    ${diagnostic.detail}`, {
    level: 'error',
    address: flow.address,
    run: run.id,
    trace: run.trace,
    code: diagnostic.code,
  });
  throw new SchemaGuardStop(diagnostic);
}
