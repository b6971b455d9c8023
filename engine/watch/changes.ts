/**
 * What a save changes, as pure functions: which mapping tests a set of changed files makes stale, and what differs
 * between two runs (problems found and fixed, test cases that started or stopped failing).
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { CaseResult } from '../mapping/test-runner.js';
import type { MappingTestCase, MappingTestInput, TemplateFlow } from '../model/generated/index.js';
import { fields, items, text } from '../model/guards.js';
import { mappingFileOf, resolveRelative } from '../model/resolve.js';
import { mappingTests, type Resource, type Workspace } from '../model/workspace.js';
import { isObject } from '../util/merge.js';

/**
 * The MappingTest files to run again after `changed` (workspace-relative) files were saved, added or deleted.
 *
 * A test's result depends on
 *   - its own file (cases, params),
 *   - its mapping file,
 *   - its fixtures (`input.file`, `outputFile`),
 *   - the flows that use its mapping: every case checks their idempotency keys on its input.
 * The first three are files, matched against `changed`. For the last, rather than re-running the tests of every
 * flow whose file changed (a customer.yaml whose `uses:` instantiates 30 template flows would re-run them all on any
 * edit), the flows using each mapping — name and key expression — are compared between the previous run's
 * workspace and this one: the tests of a mapping whose users changed run again. That covers a flow edited, added,
 * deleted, renamed, or pointed at another mapping, in any file (flow, customer.yaml, template.yaml).
 * Policies, SLAs, connections and rsync.yaml do not reach the mapping tests, so saving them re-runs none.
 */
export function staleTests(changed: ReadonlySet<string>, now: Workspace, before?: Workspace): Set<string> {
  const out = new Set<string>();
  const users = keyUsers(now);
  const old = before ? keyUsers(before) : new Map<string, string>();
  const mappings = new Set<string>();
  for (const m of new Set([...users.keys(), ...old.keys()])) if (users.get(m) !== old.get(m)) mappings.add(m);
  for (const ws of before ? [now, before] : [now]) {
    for (const t of mappingTests(ws)) {
      const file = t.origin.doc.file;
      const mapping = mappingFileOf(t);
      if (
        changed.has(file) ||
        (mapping && (changed.has(mapping) || mappings.has(mapping))) ||
        fixturesOf(t).some((x) => changed.has(x))
      ) {
        out.add(file);
      }
    }
  }
  return out;
}

/** The files every mapping test reads besides its own and its mapping (to know whether a saved .json matters). */
export function allFixtures(ws: Workspace): Set<string> {
  const out = new Set<string>();
  for (const t of mappingTests(ws)) for (const f of fixturesOf(t)) out.add(f);
  return out;
}

function fixturesOf(t: Resource<'MappingTest'>): string[] {
  const out: string[] = [];
  for (const c of items(t.spec.cases).map(fields<MappingTestCase>)) {
    for (const ref of [fields<MappingTestInput>(c.input).file, c.outputFile]) {
      const rel = text(ref);
      const file = rel === undefined ? undefined : resolveRelative(t.dir, rel);
      if (file) out.push(file);
    }
  }
  return out;
}

/**
 * Mapping file → the flows that use it, as sorted "name key" lines: customers' flows (template instances included)
 * and the templates' own flows whose mapping and key have no placeholder (the ones the test runner checks too).
 */
function keyUsers(ws: Workspace): Map<string, string> {
  const lists = new Map<string, string[]>();
  const add = (dir: string, mapping: string | undefined, name: string, key: unknown) => {
    if (mapping === undefined) return;
    const m = resolveRelative(dir, mapping);
    if (!m) return;
    const list = lists.get(m) ?? [];
    list.push(`${name}\u0000${text(key) ?? ''}`);
    lists.set(m, list);
  };
  for (const c of ws.customers.values())
    for (const f of c.flows.values()) add(f.dir, text(f.spec.mapping), `${c.name}/${f.name}`, f.spec.key);
  for (const t of ws.templates.values()) {
    items(t.spec.flows).forEach((entry: unknown, i: number) => {
      const f = fields<TemplateFlow>(entry);
      if (!isObject(f.spec)) return;
      const name = text(fields<TemplateFlow['metadata']>(f.metadata).name) ?? `flow ${i}`;
      const mapping = text(f.spec.mapping);
      if (mapping !== undefined && !mapping.includes('${{'))
        add(t.dir, mapping, `${t.name}@${String(t.spec.version)}/${name}`, f.spec.key);
    });
  }
  return new Map([...lists].map(([m, l]) => [m, l.sort().join('\n')]));
}

/**
 * Identity of a problem across runs: where (file, not line — a line added above must not turn every later problem
 * into "fixed" plus "new"), what and about which resource.
 */
export function diagnosticKey(d: Diagnostic): string {
  return [d.severity, d.code, d.range?.file ?? '', d.address ?? '', d.summary].join('\u0000');
}

/** Problems in `now` and not in `before`, and the other way round (as multisets, so a second copy counts). */
export function diffDiagnostics(
  before: readonly Diagnostic[],
  now: readonly Diagnostic[],
): { added: Diagnostic[]; fixed: Diagnostic[] } {
  const count = new Map<string, number>();
  for (const d of before) count.set(diagnosticKey(d), (count.get(diagnosticKey(d)) ?? 0) + 1);
  const added: Diagnostic[] = [];
  for (const d of now) {
    const k = diagnosticKey(d);
    const n = count.get(k) ?? 0;
    if (n > 0) count.set(k, n - 1);
    else added.push(d);
  }
  const left = new Map<string, number>();
  for (const d of now) left.set(diagnosticKey(d), (left.get(diagnosticKey(d)) ?? 0) + 1);
  const fixed: Diagnostic[] = [];
  for (const d of before) {
    const k = diagnosticKey(d);
    const n = left.get(k) ?? 0;
    if (n > 0) left.set(k, n - 1);
    else fixed.push(d);
  }
  return { added, fixed };
}

/** Identity of a test case across runs: its file, test and case names (not its line). */
export function caseKey(c: CaseResult): string {
  return [c.file, c.test, c.case].join('\u0000');
}

export interface TestChanges {
  /** Cases that fail now and passed before, or are new and fail. */
  failing: CaseResult[];
  /** Cases that pass now and failed before. */
  passing: CaseResult[];
  /** Cases that failed before and no longer exist. */
  removed: CaseResult[];
}

/**
 * Fold the results of re-run test files into `state` (case key → last result) and say what changed. Cases of
 * `rerun` files that did not come back were removed.
 */
export function applyTestResults(
  state: Map<string, CaseResult>,
  rerun: ReadonlySet<string>,
  results: readonly CaseResult[],
): TestChanges {
  const changes: TestChanges = { failing: [], passing: [], removed: [] };
  const seen = new Set<string>();
  for (const c of results) {
    const k = caseKey(c);
    seen.add(k);
    const was = state.get(k);
    const fails = c.status !== 'passed';
    if (fails && (!was || was.status === 'passed')) changes.failing.push(c);
    if (!fails && was && was.status !== 'passed') changes.passing.push(c);
    state.set(k, c);
  }
  for (const [k, c] of state) {
    if (!rerun.has(c.file) || seen.has(k)) continue;
    if (c.status !== 'passed') changes.removed.push(c);
    state.delete(k);
  }
  return changes;
}
