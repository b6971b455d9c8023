/**
 * PII by lineage: a flow whose target the policy keeps PII from (`pii.forbidTargets`) must not send, into any output
 * field, data computed from an input path the policy names as PII (`pii.fields`) — whatever the output field is
 * called, and through whatever variables, functions, concatenations and conditionals (engine/jsonata/lineage.ts).
 *
 * A policy names PII in canonical terms (`customer.email`, `shippingAddress`) and a mapping reads the vendor's
 * record (`email`, `shipping_address.address1`). An input path carries a PII path, as the masking of dead letters
 * reads it (engine/runtime/mask.ts), when one of its segments is the PII path's last one, case, `_` and `-`
 * ignored (`email`, `customer.email`, `shipping_address.city` for shippingAddress), or when it holds the PII path
 * whole (`customer` holds customer.email; `$`, the whole record, holds every PII path).
 *
 * A read the mapping does not decide (a `$lookup` key known at run time, `$eval`, `$spread`…) that may carry PII is a
 * warning, saying so, rather than a guess either way.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { compile, type Lineage, type LineageSource, lineage, lineColumn } from '../jsonata/index.js';
import type { Workspace } from '../model/workspace.js';

const norm = (s: string) => s.replace(/[_\-\s]/g, '').toLowerCase();

/** The policy's PII paths that input path `path` carries (`` is the whole record). */
export function piiCarried(path: string, pii: readonly string[]): string[] {
  const segs = path === '' ? [] : path.split('.').map((s) => (s === '*' || s === '**' ? s : norm(s)));
  return pii.filter((p) => {
    const ps = p.split('.').map(norm);
    return segs.includes(ps[ps.length - 1]) || holds(segs, ps);
  });
}

/** Does the value at `segs` hold the one at `ps` whole (an ancestor of it, or itself; `*` one field, `**` any)? */
function holds(segs: string[], ps: string[]): boolean {
  for (let i = 0; i < segs.length; i++) {
    if (segs[i] === '**') return true;
    if (i >= ps.length) return false;
    if (segs[i] !== '*' && segs[i] !== ps[i]) return false;
  }
  return true;
}

/** Lineage by mapping file, once per validation of a workspace. */
const perWorkspace = new WeakMap<Workspace, Map<string, Lineage | undefined>>();

/** The lineage of a workspace's mapping file (undefined when it does not compile), kept in the content cache. */
export function mappingLineage(ws: Workspace, file: string): Lineage | undefined {
  let byFile = perWorkspace.get(ws);
  if (!byFile) perWorkspace.set(ws, (byFile = new Map()));
  if (byFile.has(file)) return byFile.get(file);
  const text = ws.files.get(file);
  let result: Lineage | undefined;
  if (text !== undefined) {
    const key = ws.content ? `lineage:${ws.content.key(text)}` : undefined;
    const hit = key === undefined ? undefined : ws.content!.get('jsonata', key);
    if (isLineage(hit)) result = hit;
    else {
      const c = compile(text);
      if (c.ok) {
        result = lineage(c.expr, text);
        if (key !== undefined) ws.content!.put('jsonata', key, result);
      }
    }
  }
  byFile.set(file, result);
  return result;
}

function isLineage(v: unknown): v is Lineage {
  return typeof v === 'object' && v !== null && Array.isArray((v as Lineage).fields);
}

export interface PiiFlow {
  /** The mapping file, workspace-relative, and its text. */
  file: string;
  text: string;
  flow: string;
  policy: string;
  target: string;
  pii: readonly string[];
}

/** The mapping's output fields that carry the policy's PII to the flow's forbidden target, located in the file. */
export function piiLineageProblems(l: Lineage, f: PiiFlow): Omit<Diagnostic, 'address'>[] {
  const out: Omit<Diagnostic, 'address'>[] = [];
  for (const field of l.fields) {
    const decided = new Set<string>();
    for (const s of field.sources) if (!s.undecided) for (const p of piiCarried(s.path, f.pii)) decided.add(p);
    for (const s of field.sources) {
      const carried = piiCarried(s.path, f.pii).filter((p) => !s.undecided || !decided.has(p));
      if (!carried.length) continue;
      const range = { file: f.file, start: { line: s.line, column: s.column }, end: lineColumn(f.text, s.end) };
      const name = fieldName(field.field);
      const read = s.path === '' ? 'the whole record ($)' : s.path;
      if (!s.undecided) {
        out.push({
          severity: 'error',
          code: 'pii-forbidden-target',
          summary: `${capital(name)} carries ${read} (PII: ${carried.join(', ')}) to ${f.target}`,
          detail: `Flow ${f.flow} maps ${read}${through(s)} into ${name} and sends it to ${f.target}, which policy ${f.policy} keeps its PII from. Leave it out of the output, or send the flow to a target the policy allows.`,
          range,
        });
      } else {
        out.push({
          severity: 'warning',
          code: 'pii-lineage-undecided',
          summary: `Cannot tell whether ${name} carries PII (${carried.join(', ')}) to ${f.target}`,
          detail: `${capital(s.undecided)}: the mapping reads ${read}${through(s)} for ${name} of flow ${f.flow}, whose target ${f.target} policy ${f.policy} keeps PII from, and which of its fields reach the output is decided only when it runs. Name the fields (a literal key: $lookup(customer, "id")), so the check can follow them.`,
          range,
        });
      }
    }
  }
  return out;
}

function fieldName(field: string): string {
  if (field === '') return 'the whole output';
  return field.includes('*')
    ? `output field "${field}" (* is a key known only at run time)`
    : `output field "${field}"`;
}

function through(s: LineageSource): string {
  return s.via.length ? ` (through ${s.via.join(', ')})` : '';
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
