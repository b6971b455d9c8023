/**
 * The data-impact plan (`rsync plan --impact`, issue 19): what a change does to the data, not only to the files.
 * For each updated flow whose mapping, parameters, idempotency key or canonical entity changes, both revisions — the
 * deployed one and the proposed one — run over the same stored sample of the flow's recent source records (read by
 * plan/index.ts from state/samples.ts; no system is called), through the pipeline's own mapping stage
 * (runtime/mapping/map-records.ts: mapping, filter, canonical check, key, content hash). Each record is then one of:
 *
 *   unchanged       the same outcome: the same key and content, or filtered or dead under both
 *   different       written by both, with other content (or another key: keyChanged counts those)
 *   newlyFiltered   written today, filtered by the proposed mapping
 *   newlyDead       written or filtered today, dead-lettered by the proposed revision
 *   newlyPassing    dead-lettered today, written or filtered by the proposed revision
 *   newlyWritten    filtered today, written by the proposed revision
 *
 * Two outcomes are errors in the plan unless acknowledged: records that pass today would be dead-lettered
 * (impact-dead-letters), and records would get another idempotency key (impact-key-change: the target would get each
 * of them again as a new record). An acknowledgement is `--acknowledge <address pattern>` on the command line, or
 * the flow's annotation `rsync/acknowledge-impact: "<why>"` added or edited in the same change (so it acknowledges
 * that change only: the next change of the flow needs its own).
 *
 * Pure of I/O, like the planner: the samples, the deployed rows and the mapping texts are given.
 */
import type { Diagnostic, SourceRange } from '../diagnostics/diagnostic.js';
import { type MapOutcome, type MapTask, mapRecords } from '../runtime/mapping/map-records.js';
import type { DeployedRow } from '../state/deployments.js';
import { canonicalJson } from '../util/hash.js';
import { parseJsonLossless } from '../util/json.js';
import { isObject } from '../util/merge.js';
import { fieldChanges } from './diff.js';
import { ACKNOWLEDGE_ANNOTATION, type Change, type FieldChange } from './types.js';

export { ACKNOWLEDGE_ANNOTATION };

/** Records sampled per flow unless --sample says otherwise. */
export const DEFAULT_SAMPLE = 100;
/** Record-level diffs shown per flow. */
export const EXAMPLES_PER_FLOW = 3;

export interface ImpactCounts {
  sampled: number;
  unchanged: number;
  different: number;
  newlyFiltered: number;
  newlyDead: number;
  newlyPassing: number;
  newlyWritten: number;
  /** Of the records written by both: how many get another idempotency key. */
  keyChanged: number;
}

/** One record's difference, as a reviewer reads it: the keys, the outcome, the fields (numbers as decimal text). */
export interface RecordDiff {
  outcome: 'different' | 'newlyFiltered' | 'newlyDead' | 'newlyPassing' | 'newlyWritten';
  key?: string;
  /** The proposed key, when it differs. */
  newKey?: string;
  fields: FieldChange[];
  /** Why the proposed revision dead-letters or filters it. */
  reason?: string;
}

export interface FlowImpact {
  address: string;
  customer: string | null;
  /** The proposed revision's template (name@version), if any. */
  template: string | null;
  /** Where the flow is declared (`file:line`). */
  source: string | null;
  /** What changed that decides the data: mapping, parameters, key, canonical. */
  changed: string[];
  /** False when the flow has no stored sample: nothing can be said of its data. */
  sampled: boolean;
  /** When the newest sampled record was read. */
  newest: string | null;
  counts: ImpactCounts;
  /** The keys of the sampled records whose outcome changes (the proposed key where it differs). */
  changedKeys: string[];
  examples: RecordDiff[];
  /** How the impact is acknowledged (`--acknowledge`, or the annotation's text), if it is. */
  acknowledged?: string;
}

export interface PlanImpact {
  /** Records asked for per flow (--sample). */
  sample: number;
  flows: FlowImpact[];
  /** Totals over the flows with a sample. */
  totals: ImpactCounts;
  /** Flows without a stored sample. */
  unsampled: number;
  /** impact-dead-letters and impact-key-change, errors unless acknowledged (then warnings). */
  diagnostics: Diagnostic[];
}

export interface ImpactOptions {
  sample?: number;
  /** Address patterns (`*` matches anything; with or without the `<env>/` prefix). */
  acknowledge?: readonly string[];
}

const zero = (): ImpactCounts => ({
  sampled: 0,
  unchanged: 0,
  different: 0,
  newlyFiltered: 0,
  newlyDead: 0,
  newlyPassing: 0,
  newlyWritten: 0,
  keyChanged: 0,
});

type Spec = Record<string, unknown>;
const inner = (spec: Spec): Spec => (isObject(spec.spec) ? spec.spec : {});
const shaOf = (spec: Spec): string | undefined =>
  isObject(spec.mapping) && typeof spec.mapping.sha256 === 'string' ? spec.mapping.sha256 : undefined;
const paramsOf = (spec: Spec): Record<string, unknown> =>
  isObject(spec.template) && isObject(spec.template.with) ? spec.template.with : {};
const annotationOf = (spec: Spec): string | undefined => {
  const m = isObject(spec.metadata) ? spec.metadata : {};
  const a = isObject(m.annotations) ? m.annotations[ACKNOWLEDGE_ANNOTATION] : undefined;
  return typeof a === 'string' && a.trim() ? a.trim() : undefined;
};

/** What of a flow's change decides its data (empty: the change cannot alter a record). */
export function dataChanges(before: Spec, after: Spec): string[] {
  const out: string[] = [];
  if (shaOf(before) !== shaOf(after)) out.push('mapping');
  // JSONB keeps an object's keys in its own order: compared as canonical JSON.
  if (canonicalJson(paramsOf(before)) !== canonicalJson(paramsOf(after))) out.push('parameters');
  if (inner(before).key !== inner(after).key) out.push('key');
  if (inner(before).canonical !== inner(after).canonical) out.push('canonical');
  return out;
}

/** The flow updates of a plan whose data may change, each with its deployed row. */
export function impactCandidates(
  changes: readonly Change[],
  deployed: readonly DeployedRow[],
): { change: Change; have: DeployedRow; changed: string[] }[] {
  const rows = new Map(deployed.map((d) => [d.address, d]));
  const out: { change: Change; have: DeployedRow; changed: string[] }[] = [];
  for (const change of changes) {
    if (change.action !== 'update' || change.kind !== 'flow' || !change.after) continue;
    const have = rows.get(change.address);
    if (!have) continue;
    const changed = dataChanges(have.spec, change.after.spec);
    if (changed.length) out.push({ change, have, changed });
  }
  return out;
}

function taskOf(spec: Spec, blobs: ReadonlyMap<string, string>, records: unknown[]): MapTask | undefined {
  const sha = shaOf(spec);
  const mapping = sha === undefined ? undefined : blobs.get(sha);
  if (mapping === undefined) return undefined;
  const s = inner(spec);
  return { mapping, key: String(s.key), params: paramsOf(spec), canonical: String(s.canonical), records };
}

/** A mapped record as a value whose numbers are their exact decimal text (money is never shown as a double). */
function decimals(v: unknown): unknown {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(decimals);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decimals(x)]));
  return v;
}

const recordOf = (o: Extract<MapOutcome, { kind: 'mapped' }>) => decimals(parseJsonLossless(o.text));

const why = (o: MapOutcome): string | undefined =>
  o.kind === 'dead' ? `${o.stage}: ${o.error}` : o.kind === 'filtered' ? (o.reason ?? 'filtered') : undefined;

/** Compare two revisions' outcomes of the same records. */
export function compareOutcomes(
  before: readonly MapOutcome[],
  after: readonly MapOutcome[],
  examples = EXAMPLES_PER_FLOW,
): { counts: ImpactCounts; changedKeys: string[]; examples: RecordDiff[] } {
  const counts = zero();
  const changedKeys: string[] = [];
  // Examples by what a reviewer must see first: new dead letters, new keys, other content, the rest.
  const found: RecordDiff[][] = [[], [], [], []];
  const keep = (rank: number, d: () => RecordDiff) => {
    if (found[rank].length < examples) found[rank].push(d());
  };
  for (let i = 0; i < before.length; i++) {
    const o = before[i];
    const n = after[i];
    counts.sampled++;
    const same = counts.unchanged;
    compareOne(o, n);
    if (counts.unchanged === same) {
      const key = n.key ?? o.key;
      if (key !== undefined) changedKeys.push(key);
    }
  }
  return { counts, changedKeys, examples: found.flat().slice(0, examples) };

  function compareOne(o: MapOutcome, n: MapOutcome): void {
    if (o.kind === 'mapped' && n.kind === 'mapped') {
      if (o.key === n.key && o.hash === n.hash) {
        counts.unchanged++;
        return;
      }
      counts.different++;
      const keyChanged = o.key !== n.key;
      if (keyChanged) counts.keyChanged++;
      keep(keyChanged ? 1 : 2, () => ({
        outcome: 'different',
        key: o.key,
        ...(keyChanged ? { newKey: n.key } : {}),
        fields: fieldChanges(recordOf(o), recordOf(n)),
      }));
    } else if (n.kind === 'dead' && o.kind !== 'dead') {
      counts.newlyDead++;
      keep(0, () => ({
        outcome: 'newlyDead',
        key: o.key,
        fields: o.kind === 'mapped' ? fieldChanges(recordOf(o), {}) : [],
        reason: why(n),
      }));
    } else if (o.kind === 'mapped' && n.kind === 'filtered') {
      counts.newlyFiltered++;
      keep(3, () => ({ outcome: 'newlyFiltered', key: o.key, fields: [], reason: why(n) }));
    } else if (o.kind === 'dead' && n.kind !== 'dead') {
      counts.newlyPassing++;
      keep(3, () => ({
        outcome: 'newlyPassing',
        key: n.key,
        fields: n.kind === 'mapped' ? fieldChanges({}, recordOf(n)) : [],
        reason: `was ${why(o)}`,
      }));
    } else if (o.kind === 'filtered' && n.kind === 'mapped') {
      counts.newlyWritten++;
      keep(3, () => ({ outcome: 'newlyWritten', key: n.key, fields: fieldChanges({}, recordOf(n)) }));
    } else counts.unchanged++;
  }
}

/** Whether `address` (without its environment) matches one of the patterns (`*`: any characters). */
export function acknowledgedBy(patterns: readonly string[], env: string, address: string): string | undefined {
  for (const p of patterns) {
    const bare = p.startsWith(`${env}/`) ? p.slice(env.length + 1) : p;
    const re = new RegExp(`^${bare.split('*').map(escapeRe).join('.*')}$`);
    if (re.test(address)) return `--acknowledge ${p}`;
  }
  return undefined;
}
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One flow's impact: both revisions over `records` (the stored sample, newest first, at most opts.sample).
 * `blobs` has the mapping texts of both revisions.
 */
export async function flowImpact(
  env: string,
  candidate: { change: Change; have: DeployedRow; changed: string[] },
  blobs: ReadonlyMap<string, string>,
  sample: { records: unknown[]; newest: string | null } | undefined,
  opts: ImpactOptions = {},
): Promise<FlowImpact> {
  const { change, have, changed } = candidate;
  const after = change.after!.spec;
  const annotation = annotationOf(after);
  const acknowledged =
    acknowledgedBy(opts.acknowledge ?? [], env, change.address) ??
    (annotation && annotation !== annotationOf(have.spec) ? `${ACKNOWLEDGE_ANNOTATION}: ${annotation}` : undefined);
  const records = (sample?.records ?? []).slice(0, opts.sample ?? DEFAULT_SAMPLE);
  const base: FlowImpact = {
    address: change.address,
    customer: change.customer,
    template: change.template,
    source: change.after?.source ?? null,
    changed,
    sampled: records.length > 0,
    newest: sample?.newest ?? null,
    counts: zero(),
    changedKeys: [],
    examples: [],
    ...(acknowledged ? { acknowledged } : {}),
  };
  const old = taskOf(have.spec, blobs, records);
  const now = taskOf(after, blobs, records);
  if (!records.length || !old || !now) return { ...base, sampled: records.length > 0 && !!old && !!now };
  const [before, proposed] = [await mapRecords(old), await mapRecords(now)];
  return { ...base, ...compareOutcomes(before, proposed) };
}

/** `file:line` of a resource's declaration as a diagnostic's range. */
function rangeOf(source: string | null | undefined): SourceRange | undefined {
  const m = source ? /^(.*?)(?::(\d+))?$/.exec(source) : null;
  return m ? { file: m[1], start: { line: Number(m[2] ?? 1), column: 1 } } : undefined;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** The plan's impact from its flows' impacts: totals, and the errors of those not acknowledged. */
export function summariseImpact(env: string, flows: FlowImpact[], opts: ImpactOptions = {}): PlanImpact {
  const totals = zero();
  const diagnostics: Diagnostic[] = [];
  let unsampled = 0;
  for (const f of flows) {
    if (!f.sampled) unsampled++;
    for (const k of Object.keys(totals) as (keyof ImpactCounts)[]) totals[k] += f.counts[k];
    const severity = f.acknowledged ? 'warning' : 'error';
    const ack = f.acknowledged ? ` Acknowledged (${f.acknowledged}).` : '';
    const how = `To go ahead anyway, acknowledge it: rsync plan --impact --acknowledge ${f.address}, or add the annotation ${ACKNOWLEDGE_ANNOTATION}: "<why>" to the flow's metadata in this change.`;
    const range = rangeOf(f.source);
    if (f.counts.newlyDead)
      diagnostics.push({
        severity,
        code: 'impact-dead-letters',
        summary: `${plural(f.counts.newlyDead, 'record')} that pass today would be dead-lettered`,
        detail: `Of ${plural(f.counts.sampled, 'sampled record')} of ${f.address}, ${f.counts.newlyDead} would be dead-lettered by the proposed revision (the plan's examples say why). Fix the ${f.changed.join(' and ')} so that they pass.${ack || ` ${how}`}`,
        address: `${env}/${f.address}`,
        ...(range ? { range } : {}),
      });
    if (f.counts.keyChanged)
      diagnostics.push({
        severity,
        code: 'impact-key-change',
        summary: `${plural(f.counts.keyChanged, 'record')} would get another idempotency key`,
        detail: `Of ${plural(f.counts.sampled, 'sampled record')} of ${f.address}, ${f.counts.keyChanged} would be written under a new key: the target would get each as a new record, a duplicate of the one already written. Keep the key's value the same for records already written.${ack || ` ${how}`}`,
        address: `${env}/${f.address}`,
        ...(range ? { range } : {}),
      });
  }
  return { sample: opts.sample ?? DEFAULT_SAMPLE, flows, totals, unsampled, diagnostics };
}

/** Whether the impact has an unacknowledged error (the plan may not be saved or applied). */
export const impactBlocks = (impact: PlanImpact | undefined): boolean =>
  !!impact?.diagnostics.some((d) => d.severity === 'error');
