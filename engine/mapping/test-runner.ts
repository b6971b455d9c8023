/**
 * Mapping tests (`rsync test`): each MappingTest document's cases run its mapping with the real JSONata engine on
 * an input (inline, or a fixture file) and compare with the expected output, or check the output is a valid
 * canonical entity. Every case is also run twice (a mapping must be deterministic), and the idempotency key of
 * every flow that uses the mapping must give a non-empty string for the case's input.
 */
import { parseJsonLossless } from '../util/json.js';
import type { SourceRange } from '../diagnostics/diagnostic.js';
import { RsyncError } from '../diagnostics/errors.js';
import { locate } from '../load/locate.js';
import { withParameterDefaults } from '../load/templates.js';
import type {
  MappingTestCase,
  MappingTestExpectation,
  MappingTestInput,
  TemplateFlow,
} from '../model/generated/index.js';
import { fields, items, named, text } from '../model/guards.js';
import { mappingFileOf, resolveRelative } from '../model/resolve.js';
import { mappingTests, type Resource, type Unchecked, type Workspace } from '../model/workspace.js';
import { ledgerDecision } from '../state/ledger.js';
import { hashOf } from '../util/hash.js';
import { getIn, isObject } from '../util/merge.js';
import { canonicalValidator, schemaProblems } from '../validate/schema.js';
import { filterOf } from './filter.js';
import { checkInvariants, invariantIds } from './invariants.js';
import { deepEqual, plain, structuralDiff } from './diff.js';
import { type Compiled, compile, compileToJavaScript, syncJsonata } from '../jsonata/index.js';

export type CaseStatus = 'passed' | 'failed' | 'error';

export interface CaseResult {
  /** The MappingTest file and the case's line. */
  file: string;
  line: number;
  column: number;
  test: string;
  case: string;
  mapping: string;
  status: CaseStatus;
  /** What went wrong, one sentence. */
  message?: string;
  /** Structural differences, or schema problems, one per line. */
  details?: string[];
  durationMs: number;
}

export interface TestReport {
  version: 1;
  passed: number;
  failed: number;
  cases: CaseResult[];
}

interface KeyUser {
  flow: Resource<'Flow'>;
  expr: Compiled;
  text: string;
}

export interface RunOptions {
  /** Only tests whose file or mapping is under this workspace-relative folder or is this file. */
  scope?: string;
  /** Only these MappingTest files (used by `rsync watch`). */
  files?: Set<string>;
}

export async function runMappingTests(
  ws: Workspace,
  mappings: Map<string, Compiled>,
  opts: RunOptions = {},
): Promise<TestReport> {
  const keyUsers = flowsByMapping(ws);
  const cases: CaseResult[] = [];
  for (const t of mappingTests(ws)) {
    const mappingFile = mappingFileOf(t);
    const file = t.origin.doc.file;
    if (opts.files && !opts.files.has(file)) continue;
    if (opts.scope && !inScope(opts.scope, file) && !(mappingFile && inScope(opts.scope, mappingFile))) continue;
    const list = items(t.spec.cases);
    for (let i = 0; i < list.length; i++) {
      cases.push(await runCase(ws, t, i, mappingFile, mappings, keyUsers.get(mappingFile ?? '') ?? []));
    }
  }
  const passed = cases.filter((c) => c.status === 'passed').length;
  return { version: 1, passed, failed: cases.length - passed, cases };
}

function inScope(scope: string, file: string): boolean {
  return file === scope || file.startsWith(`${scope}/`);
}

/** Flows by the mapping file they use, with their key expressions compiled once. */
function flowsByMapping(ws: Workspace): Map<string, KeyUser[]> {
  const out = new Map<string, KeyUser[]>();
  const seen = new Set<string>();
  const add = (mapping: string, flow: Resource<'Flow'>, key: string) => {
    const id = `${mapping}\u0000${key}`;
    if (seen.has(id)) return; // 200 customers on one template share one key expression
    seen.add(id);
    const list = out.get(mapping) ?? [];
    list.push({ flow, expr: compile(key), text: key });
    out.set(mapping, list);
  };
  for (const c of ws.customers.values()) {
    for (const f of c.flows.values()) {
      const mapping = text(f.spec.mapping);
      const key = text(f.spec.key);
      if (mapping === undefined || key === undefined) continue;
      const m = resolveRelative(f.dir, mapping);
      if (m) add(m, f, key);
    }
  }
  // Template flows, even when no customer uses them yet (placeholders in the key stay as written).
  for (const t of ws.templates.values()) {
    items(t.spec.flows).forEach((entry: unknown, i: number) => {
      const f = fields<TemplateFlow>(entry);
      if (!isObject(f.spec)) return;
      const mapping = text(f.spec.mapping);
      const key = text(f.spec.key);
      if (mapping === undefined || key === undefined) return;
      if (mapping.includes('${{') || key.includes('${{')) return;
      const m = resolveRelative(t.dir, mapping);
      const name = text(fields<TemplateFlow['metadata']>(f.metadata).name) ?? `flow ${i}`;
      if (m) add(m, { ...t, kind: 'Flow', name, origin: { doc: t.origin.doc, base: ['spec', 'flows', i] } }, key);
    });
  }
  return out;
}

async function runCase(
  ws: Workspace,
  t: Resource<'MappingTest'>,
  i: number,
  mappingFile: string | undefined,
  mappings: Map<string, Compiled>,
  keyUsers: KeyUser[],
): Promise<CaseResult> {
  const started = performance.now();
  const c = fields<MappingTestCase>(items(t.spec.cases)[i]);
  const where: SourceRange = locate(t, ['spec', 'cases', i]);
  const base = {
    file: where.file,
    line: where.start.line,
    column: where.start.column,
    test: t.name,
    case: text(c.name) ?? `case ${i + 1}`,
    mapping: mappingFile ?? String(t.spec.mapping),
  };
  const done = (status: CaseStatus, message?: string, details?: string[]): CaseResult => ({
    ...base,
    status,
    ...(message ? { message } : {}),
    ...(details?.length ? { details } : {}),
    durationMs: Math.round((performance.now() - started) * 100) / 100,
  });

  const compiled = mappingFile ? mappings.get(mappingFile) : undefined;
  if (!compiled) return done('error', `mapping ${base.mapping} does not exist`);
  if (!compiled.ok) return done('error', `mapping ${base.mapping} does not compile: ${compiled.problem.message}`);

  const input = await loadInput(ws, t, c);
  if ('error' in input) return done('error', input.error);

  let params: Record<string, unknown> = {
    ...fields<Record<string, unknown>>(t.spec.params),
    ...fields<Record<string, unknown>>(c.params),
  };
  const template = [...ws.templates.values()].find((tp) => t.dir === tp.dir || t.dir.startsWith(`${tp.dir}/`));
  if (template) params = withParameterDefaults(template, params);
  const bindings = { params };
  let first: unknown;
  let second: unknown;
  try {
    first = plain(await compiled.expr.evaluate(structuredClone(input.value), bindings));
    second = plain(await compiled.expr.evaluate(structuredClone(input.value), bindings));
  } catch (e) {
    const err = e as { message?: string; code?: string };
    return done(
      'failed',
      `the mapping failed on this input: ${err.message ?? String(e)}${err.code ? ` (${err.code})` : ''}`,
    );
  }
  if (!deepEqual(first, second)) {
    return done(
      'failed',
      'the mapping is not deterministic: two runs on the same input differ',
      structuralDiff(first, second),
    );
  }
  // The runtime evaluates with a synchronous engine derived from jsonata (syncJsonata): it must give exactly what
  // jsonata gives.
  const sync = syncJsonata();
  const source = mappingFile ? ws.files.get(mappingFile) : undefined;
  if (sync.ok && source !== undefined) {
    let viaSync: unknown;
    try {
      viaSync = plain(sync.jsonata(source).evaluate(structuredClone(input.value), bindings));
    } catch (e) {
      return done(
        'failed',
        `the runtime's synchronous JSONata engine fails where jsonata does not: ${(e as Error).message}`,
      );
    }
    if (!deepEqual(first, viaSync)) {
      return done(
        'failed',
        "the runtime's synchronous JSONata engine gives another output than jsonata",
        structuralDiff(first, viaSync),
      );
    }
  }
  // And first with the mapping compiled to JavaScript (compileToJavaScript), when the compiler covers it. Where the
  // compiled function throws, the runtime asks the interpreter, so only a different value is a failure.
  const js = source !== undefined ? compileToJavaScript(source) : undefined;
  if (js?.ok) {
    let viaJs: unknown;
    let threw = false;
    try {
      viaJs = plain(js.expr.evaluate(structuredClone(input.value), bindings));
    } catch {
      threw = true;
    }
    if (!threw && !deepEqual(first, viaJs)) {
      return done(
        'failed',
        "the runtime's compiled JSONata gives another output than jsonata",
        structuralDiff(first, viaJs),
      );
    }
  }

  // A filter marker that is not one is a mistake of the mapping, whatever the case expects.
  const filter = filterOf(first);
  if ('malformed' in filter) return done('failed', `the mapping's output is not a filter: ${filter.malformed}`);

  // Expected output.
  if ('output' in c || 'outputFile' in c) {
    let expected: unknown = c.output;
    const outputFile = text(c.outputFile);
    if (outputFile !== undefined) {
      const loaded = await readJson(ws, t, outputFile);
      if ('error' in loaded) return done('error', loaded.error);
      expected = loaded.value;
    }
    // A filter marker ({ "$filter": reason }) is filtered: `output: null` matches it; an expected marker checks the reason.
    const actual =
      first === undefined || (filter.filtered && (expected === null || expected === undefined)) ? null : first;
    const diff = structuralDiff(plain(expected) ?? null, actual);
    if (diff.length) return done('failed', 'output differs from the expected output', diff);
  }
  // The canonical entity the output is: the case's expectation, the test's `canonical`, or what the flows using the
  // mapping declare. Every output that is not filtered is then checked against its schema and its invariants.
  const expected = text(fields<MappingTestExpectation>(c.expect).valid);
  const entity =
    expected ??
    text(t.spec.canonical) ??
    [...new Set(keyUsers.map((k) => text(k.flow.spec.canonical)))].filter((e) => e !== undefined).at(0);
  const filtered = filter.filtered;
  if (expected && filtered)
    return done('failed', `the mapping filtered this input; expected a valid canonical ${expected}`);
  if (entity && !filtered) {
    const records = Array.isArray(first) ? first : [first];
    const validate = canonicalValidator(entity);
    const problems: string[] = [];
    records.forEach((rec, n) => {
      if (!validate(rec)) {
        for (const p of schemaProblems(validate.errors)) {
          problems.push(`${records.length > 1 ? `[${n}] ` : ''}${p.summary}: ${p.detail}`);
        }
      }
    });
    if (problems.length) return done('failed', `output is not a valid canonical ${entity}`, problems);
    const violations = records.flatMap((rec, n) =>
      checkInvariants(entity, rec).map((v) => ({
        ...v,
        text: `${records.length > 1 ? `[${n}] ` : ''}${v.rule} at ${v.path}: ${v.message}`,
      })),
    );
    const want = new Set(items(c.breaks).map(String));
    const known = invariantIds(entity);
    const unknown = [...want].filter((r) => !known.has(r));
    if (unknown.length)
      return done('error', `breaks: names no canonical ${entity} invariant: ${unknown.join(', ')}`, [
        `the ${entity} invariants: ${[...known].join(', ')}`,
      ]);
    const got = new Set(violations.map((v) => v.rule));
    const missing = [...want].filter((r) => !got.has(r));
    const extra = violations.filter((v) => !want.has(v.rule)).map((v) => v.text);
    if (extra.length)
      return done('failed', `output breaks the canonical ${entity} invariants`, [
        ...extra,
        ...(want.size ? [] : ['(at run time the record is dead-lettered; `breaks:` lists the rules a case expects)']),
      ]);
    if (missing.length)
      return done('failed', `output was expected to break ${missing.join(', ')}, and does not`, [
        ...violations.map((v) => v.text),
      ]);
  }

  // Idempotency keys of the flows that use this mapping.
  for (const k of keyUsers) {
    if (!k.expr.ok) continue; // the validator reports the syntax error
    let key: unknown;
    try {
      key = plain(await k.expr.expr.evaluate(structuredClone(input.value), bindings));
    } catch (e) {
      return done('failed', `idempotency key of flow ${k.flow.name} fails on this input: ${(e as Error).message}`);
    }
    if (typeof key !== 'string' || key.length === 0) {
      const keyAt = locate(k.flow, ['spec', 'key']);
      return done(
        'failed',
        `idempotency key of flow ${k.flow.name} (${keyAt.file}:${keyAt.start.line}) gives ${key === undefined ? 'nothing' : JSON.stringify(key)} for this input; it must be a non-empty string`,
        [`key: ${k.text}`],
      );
    }
    // The flow's idempotency contract: the fixture delivered twice to a target through the ledger's rule (the
    // pipeline's own) is written once. The second delivery is mapped and keyed afresh, as a re-delivery would be.
    const again = plain(await k.expr.expr.evaluate(structuredClone(input.value), bindings));
    const writes = deliverTwice([
      { key, record: filtered ? undefined : first },
      { key: again, record: filterOf(second).filtered ? undefined : second },
    ]);
    const expected = filtered ? 0 : 1;
    if (writes !== expected) {
      return done(
        'failed',
        `flow ${k.flow.name}: this fixture delivered twice is written ${writes} times, not ${expected}`,
        [
          `key: ${JSON.stringify(key)} then ${JSON.stringify(again)}`,
          'the key and the mapped content must be the same for the same source record',
        ],
      );
    }
  }
  return done('passed');
}

/** How many writes a target receives for these deliveries under the ledger's rule (an in-memory ledger). */
function deliverTwice(deliveries: { key: unknown; record: unknown }[]): number {
  const ledger = new Map<string, { hash: string }>();
  let writes = 0;
  for (const d of deliveries) {
    if (d.record === undefined || d.record === null) continue; // filtered: nothing is written
    const key = String(d.key);
    const hash = hashOf(d.record);
    if (ledgerDecision(ledger.get(key), hash, false) === 'write') {
      writes++;
      ledger.set(key, { hash });
    }
  }
  return writes;
}

async function readJson(
  ws: Workspace,
  t: Resource<'MappingTest'>,
  rel: string,
): Promise<{ value: unknown } | { error: string }> {
  const file = resolveRelative(t.dir, rel);
  if (!file) return { error: `fixture path ${rel} leaves the workspace` };
  let json: string | undefined;
  try {
    json = await ws.source.read(file);
  } catch (e) {
    // A folder, a device or a file too large to read (util/files.ts): this case's error, not the whole run's.
    if (e instanceof RsyncError) return { error: e.message };
    throw e;
  }
  if (json === undefined) return { error: `fixture ${file} does not exist (the path is relative to ${t.dir}/)` };
  try {
    // Parsed as the runtime parses source records (util/json.ts): a 64-bit id in a fixture stays exact.
    return { value: parseJsonLossless(json) };
  } catch (e) {
    return { error: `fixture ${file} is not valid JSON: ${(e as Error).message}` };
  }
}

async function loadInput(
  ws: Workspace,
  t: Resource<'MappingTest'>,
  c: Unchecked<MappingTestCase>,
): Promise<{ value: unknown } | { error: string }> {
  const input = fields<MappingTestInput>(c.input);
  if ('value' in input) return { value: input.value };
  const file = text(input.file);
  if (file === undefined) return { error: 'the case has no input: give input.value or input.file' };
  const loaded = await readJson(ws, t, file);
  if ('error' in loaded) return loaded;
  const at = named(input.path);
  if (at) {
    const v = getIn(
      loaded.value,
      at.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
    );
    if (v === undefined) return { error: `fixture ${file} has nothing at path "${at}"` };
    return { value: v };
  }
  return loaded;
}

/**
 * The input records of every mapping's test cases, by mapping file: realistic source records (the vendors' own
 * payloads) that the sandbox copies to simulate a system (`rsync demo`, the idempotency check of `rsync test`).
 */
export async function mappingSamples(ws: Workspace): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  const seen = new Set<string>();
  for (const t of mappingTests(ws)) {
    const mappingFile = mappingFileOf(t);
    if (!mappingFile) continue;
    for (const c of items(t.spec.cases)) {
      if (!isObject(c)) continue;
      // An input whose record breaks an invariant on purpose (a vendor's sample that does not add up) would only be
      // dead-lettered: traffic is made of the records a flow writes.
      if (items(fields<MappingTestCase>(c).breaks).length) continue;
      const input = await loadInput(ws, t, fields<MappingTestCase>(c));
      // Several cases often read one fixture (its output, its validity, a parameter's effect): traffic has it once,
      // so that a rule's case does not make its records the bulk of the traffic.
      if (!('value' in input) || !isObject(input.value)) continue;
      const hash = `${mappingFile} ${hashOf(input.value)}`;
      if (seen.has(hash)) continue;
      seen.add(hash);
      out.set(mappingFile, [...(out.get(mappingFile) ?? []), input.value]);
    }
  }
  return out;
}
