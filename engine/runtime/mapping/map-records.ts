/**
 * The mapping stage of the pipeline, for one page of records: JSONata mapping → canonical-schema check →
 * idempotency key → content hash. Pure of I/O, so it runs the same in a mapping thread (mapper.ts) and inline.
 *
 * Every record comes out as exactly one outcome: mapped (with key and hash), filtered (the mapping returned
 * nothing, or the filter marker `{ "$filter": "<reason>" }` with its reason: engine/mapping/filter.ts), or dead (with the stage that failed and why) — promise 3 starts here.
 */
import jsonata from 'jsonata';
import { type CompiledExpression, compileToJavaScript, syncJsonata } from '../../jsonata/index.js';
import { filterOf } from '../../mapping/filter.js';
import { checkInvariants, describeViolations } from '../../mapping/invariants.js';
import { canonicalValidator, schemaProblems } from '../../validate/schema.js';
import { canonicalOf, sha256 } from '../../util/hash.js';
import { parseJsonLossless } from '../../util/json.js';
import { dottedPath, findUnstorable } from '../../util/text.js';
import { memberNames } from '../../connectors/types.js';

export interface MapTask {
  /** The mapping's JSONata text (compiled once per text, i.e. once per revision, and cached). */
  mapping: string;
  /** The idempotency key expression. */
  key: string;
  params: Record<string, unknown>;
  canonical: string;
  /** Source records; when `json` is true each is a JSON text (parsed here, off the main thread). */
  records: unknown[];
  json?: boolean;
  /**
   * JSON texts as UTF-8 bytes in shared memory (the mapping pool sends a page's source records so, `records` then
   * empty): record i is the bytes from ends[i - 1] to ends[i]. Written once by the main thread into a buffer it
   * reuses, read once here: no copy into a message, none out of it, and no fresh large string for each page.
   */
  shared?: SharedTexts;
}

/** Texts as UTF-8 bytes in a SharedArrayBuffer; `ends[i]` is the byte where text i ends. */
export interface SharedTexts {
  bytes: SharedArrayBuffer;
  ends: Uint32Array;
}

/** Write texts into `bytes` (grown when too small: the buffer returned is the one written). */
export function shareTexts(texts: string[], bytes?: SharedArrayBuffer): SharedTexts {
  let total = 0;
  for (const t of texts) total += Buffer.byteLength(t, 'utf8');
  if (!bytes || bytes.byteLength < total) bytes = new SharedArrayBuffer(Math.max(1 << 20, Math.ceil(total * 1.25)));
  const view = Buffer.from(bytes);
  const ends = new Uint32Array(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) ends[i] = at += view.write(texts[i], at, 'utf8');
  return { bytes, ends };
}

/** Texts packed into one string (packTexts: the mapped texts going back from a thread); `ends[i]` is where text i ends. */
export interface Packed {
  text: string;
  ends: Uint32Array;
}

/** Text i of a packed string. */
export const packedText = (p: Packed, i: number): string => p.text.slice(i ? p.ends[i - 1] : 0, p.ends[i]);

/** Pack texts into one string: one message string instead of hundreds. */
export function packTexts(texts: string[]): Packed {
  const ends = new Uint32Array(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) ends[i] = at += texts[i].length;
  return { text: texts.join(''), ends };
}

/** A JSON text's escape of a NUL or a surrogate (a quick look before the exact one: findUnstorable). */
const UNSTORABLE_JSON = /\\u0000|\\ud[89a-f]/i;

export type MapOutcome =
  /**
   * `text` is the record as canonical JSON (sorted keys): what is hashed, and what the main thread hands to the
   * target (a connector that needs the object parses it, once). `fields` names its top-level members, sorted, as a
   * JSON array text (fieldNames() reads it). Texts cross from the mapping threads to the main thread far more
   * cheaply than objects do.
   */
  | {
      kind: 'mapped';
      key: string;
      hash: string;
      text: string;
      fields: string;
      updatedAt?: string;
      /** The record's id in the source system (for `rsync xref`): see sourceIdOf. */
      sourceId?: string;
    }
  | { kind: 'filtered'; key?: string; reason?: string }
  | { kind: 'dead'; stage: 'parse' | 'map' | 'check' | 'key'; error: string; key?: string; source: unknown };

type Expr = ReturnType<typeof jsonata>;
/** An expression ready in each engine (engine/jsonata/): compiled to JavaScript when the compiler covers it, the
 *  synchronous interpreter when available, and jsonata itself. */
interface Compiled {
  async: Expr;
  sync: Expr | null;
  js: CompiledExpression | null;
}
const compiled = new Map<string, Compiled>();

function compileCached(text: string): Compiled {
  let e = compiled.get(text);
  if (!e) {
    if (compiled.size > 200) compiled.clear();
    const sync = syncJsonata();
    const js = compileToJavaScript(text);
    e = { async: jsonata(text), sync: sync.ok ? sync.jsonata(text) : null, js: js.ok ? js.expr : null };
    compiled.set(text, e);
  }
  return e;
}

/**
 * Evaluate with the compiled function; if it throws anything, with the synchronous interpreter (the compiler never
 * decides an error: the interpreter's error is the one reported). An error of the synchronous engine that is not a
 * JSONata error (no code: a difference between the engines, never seen on the tested mappings) is evaluated again by
 * jsonata itself, whose answer counts.
 */
async function evaluate(c: Compiled, input: unknown, bindings: Record<string, unknown>): Promise<unknown> {
  if (c.js) {
    try {
      return c.js.evaluate(input, bindings);
    } catch {
      // the interpreter decides
    }
  }
  if (c.sync) {
    try {
      return c.sync.evaluate(input, bindings) as unknown;
    } catch (e) {
      if ((e as { code?: unknown }).code) throw e;
    }
  }
  return c.async.evaluate(input, bindings);
}

function message(e: unknown): string {
  const err = e as { code?: string; message?: string; position?: number };
  const where = typeof err.position === 'number' ? ` (at character ${err.position})` : '';
  return `${err.code ? err.code + ': ' : ''}${err.message ?? String(e)}${where}`;
}

/** A record's top-level member names, sorted, as a JSON array text; records of one mapping share a few of these. */
const fieldLists = new Map<string, string>();
function fieldsOf(record: Record<string, unknown>): string {
  let sig = '';
  for (const k in record) if (record[k] !== undefined) sig += `${k.length}:${k}`; // unambiguous
  let list = fieldLists.get(sig);
  if (list === undefined) {
    list = JSON.stringify(memberNames(record));
    if (fieldLists.size > 1000) fieldLists.clear();
    fieldLists.set(sig, list);
  }
  return list;
}

const fieldNameLists = new Map<string, string[]>();
/** The member names of a mapped outcome's `fields`. */
export function fieldNames(fields: string): string[] {
  let list = fieldNameLists.get(fields);
  if (!list) {
    list = JSON.parse(fields) as string[];
    if (fieldNameLists.size > 1000) fieldNameLists.clear();
    fieldNameLists.set(fields, list);
  }
  return list;
}

export async function mapRecords(task: MapTask): Promise<MapOutcome[]> {
  const mapping = compileCached(task.mapping);
  const keyExpr = compileCached(task.key);
  const check = canonicalValidator(task.canonical);
  const bindings = { params: task.params };
  const out: MapOutcome[] = [];
  const shared = task.shared;
  const bytes = shared && Buffer.from(shared.bytes);
  const n = shared ? shared.ends.length : task.records.length;
  for (let i = 0; i < n; i++) {
    const raw: unknown = bytes ? bytes.toString('utf8', i ? shared.ends[i - 1] : 0, shared.ends[i]) : task.records[i];
    let source: unknown = raw;
    if (task.json || shared) {
      try {
        source = parseJsonLossless(raw as string);
      } catch (e) {
        out.push({
          kind: 'dead',
          stage: 'parse',
          error: `the source record is not JSON: ${(e as Error).message}`,
          source: { raw: String(raw).slice(0, 200) },
        });
        continue;
      }
    }
    if (source && typeof source === 'object' && typeof (source as { __error?: unknown }).__error === 'string') {
      // A connector could not read this record (a malformed line in a file drop): dead-letter it, keep the rest.
      out.push({ kind: 'dead', stage: 'parse', error: (source as { __error: string }).__error, source });
      continue;
    }
    let key: string | undefined;
    try {
      const k = await evaluate(keyExpr, source, bindings);
      if ((typeof k === 'string' && k !== '') || typeof k === 'number') key = String(k);
    } catch (e) {
      out.push({ kind: 'dead', stage: 'key', error: `the idempotency key expression failed: ${message(e)}`, source });
      continue;
    }
    if (key === undefined) {
      out.push({
        kind: 'dead',
        stage: 'key',
        error: 'the idempotency key expression gave no non-empty string for this record',
        source,
      });
      continue;
    }
    let mapped: unknown;
    // The record as canonical JSON (sorted keys): its hash, and the text the target is given. The check runs on the
    // mapped value itself when that is plain JSON data (what the text parses back to); otherwise (NaN, undefined
    // members, functions) on the parsed text, which is what the target would get.
    let text = '';
    try {
      const v = await evaluate(mapping, source, bindings);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const c = canonicalOf(v);
        text = c.text;
        mapped = c.plain ? v : JSON.parse(text);
      } else {
        mapped = v;
      }
    } catch (e) {
      out.push({ kind: 'dead', stage: 'map', error: `the mapping failed: ${message(e)}`, key, source });
      continue;
    }
    const filter = filterOf(mapped);
    if (filter.filtered) {
      out.push(
        filter.reason === undefined ? { kind: 'filtered', key } : { kind: 'filtered', key, reason: filter.reason },
      );
      continue;
    }
    if ('malformed' in filter) {
      out.push({
        kind: 'dead',
        stage: 'check',
        error: `the mapping's output is not a filter: ${filter.malformed}`,
        key,
        source,
      });
      continue;
    }
    if (typeof mapped !== 'object' || Array.isArray(mapped)) {
      out.push({
        kind: 'dead',
        stage: 'check',
        error: `the mapping gave ${Array.isArray(mapped) ? 'an array' : typeof mapped}, not a canonical ${task.canonical} object`,
        key,
        source,
      });
      continue;
    }
    if (!check(mapped)) {
      const problems = schemaProblems(check.errors)
        .slice(0, 5)
        .map((p) => `${p.path.length ? p.path.join('.') : '(record)'}: ${p.summary}`);
      out.push({
        kind: 'dead',
        stage: 'check',
        error: `not a valid canonical ${task.canonical}: ${problems.join('; ')}`,
        key,
        source,
      });
      continue;
    }
    // A NUL or half a surrogate pair from the source (an HTTP API, a file: PostgreSQL sources cannot hold them) is
    // refused here, with where it is, rather than by the target or the ledger at write time, page after page.
    if (UNSTORABLE_JSON.test(text)) {
      const bad = findUnstorable(mapped);
      if (bad) {
        out.push({
          kind: 'dead',
          stage: 'check',
          error: `the mapped record holds ${bad.what} in ${bad.key ? 'the key ' : ''}${dottedPath(bad.path)}, which PostgreSQL cannot store: remove it in the mapping (e.g. $replace(x, /\\u0000/, '')) or at the source`,
          key,
          source,
        });
        continue;
      }
    }
    // The canonical arithmetic (schemas/canonical/invariants.json): a record whose parts do not add up is never
    // written; the reason names the rule, the fields and the amounts.
    const broken = checkInvariants(task.canonical, mapped);
    if (broken.length) {
      out.push({ kind: 'dead', stage: 'check', error: describeViolations(task.canonical, broken), key, source });
      continue;
    }
    // Its canonical updatedAt (schema-checked as a timestamp): the ledger skips a version older than the one written.
    const updatedAt = (mapped as { updatedAt?: unknown }).updatedAt;
    const sourceId = sourceIdOf(mapped as Record<string, unknown>);
    out.push({
      kind: 'mapped',
      key,
      hash: sha256(text),
      text,
      fields: fieldsOf(mapped as Record<string, unknown>),
      ...(typeof updatedAt === 'string' ? { updatedAt } : {}),
      ...(sourceId === undefined ? {} : { sourceId }),
    });
  }
  return out;
}

/**
 * A canonical record's id in its source system, as `rsync xref` shows it: `externalId` (orders, refunds, customers,
 * fulfilments, journal entries, settlements), a product's `id`, a price's `sku`, a stock level's `sku@locationId`.
 */
export function sourceIdOf(r: Record<string, unknown>): string | undefined {
  const id = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const own = id(r.externalId) ?? id(r.id);
  if (own !== undefined) return own;
  const sku = id(r.sku);
  if (sku === undefined) return undefined;
  const at = id(r.locationId);
  return at === undefined ? sku : `${sku}@${at}`;
}
