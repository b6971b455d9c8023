/**
 * `rsync explain mapping`: a mapping's lineage table — each output field, the input paths that reach it, where
 * each is read (line:col in the .jsonata file), what it passes through, which of them the policies of the flows
 * using the mapping name as PII, and the reads lineage cannot decide. The same analysis the PII check of
 * `rsync validate` uses (engine/validate/pii-lineage.ts, engine/jsonata/lineage.ts).
 *
 * The mapping is named by its file (a path from the current folder, or from the workspace's root) or by a flow,
 * `<customer>/<flow>`, a template's flow included: then its file is the one that flow resolves to.
 */
import path from 'node:path';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { compile, type LineageField, type LineageSource, lineColumn } from '../jsonata/index.js';
import type { PiiPolicy } from '../model/generated/index.js';
import { fields, strings, text } from '../model/guards.js';
import { lookupPolicy, policyNameOf, resolveRelative, systemNames } from '../model/resolve.js';
import { addressOf, type Resource, type Workspace } from '../model/workspace.js';
import { mappingLineage, piiCarried } from '../validate/pii-lineage.js';

export interface ExplainedSource extends LineageSource {
  /** The PII paths of the using flows' policies this input path carries. */
  pii: string[];
}

export interface ExplainedField extends Omit<LineageField, 'sources'> {
  sources: ExplainedSource[];
}

export interface MappingUse {
  /** The flow's address, `<customer>/flow/<name>`. */
  flow: string;
  policy: string | null;
  target: string | null;
  /** Whether the policy keeps its PII from this target (`pii.forbidTargets`): then `rsync validate` checks it. */
  piiForbidden: boolean;
}

export interface MappingExplanation {
  version: 1;
  /** Workspace-relative. */
  file: string;
  usedBy: MappingUse[];
  fields: ExplainedField[];
  summary: { fields: number; sources: number; pii: number; undecided: number };
}

/** The lineage table of the mapping `what` names, in workspace `ws` (rooted at `root`), from folder `cwd`. */
export function explainMapping(ws: Workspace, root: string, what: string, cwd = process.cwd()): MappingExplanation {
  const file = mappingFileNamed(ws, root, what, cwd);
  const source = ws.files.get(file) ?? '';
  const c = compile(source);
  if (!c.ok) {
    const at = lineColumn(source, c.problem.index);
    throw new RsyncError(
      `${file}:${at.line}:${at.column}: the mapping does not compile: ${c.problem.message}`,
      ExitCode.FAILED,
      'Fix the expression at that position (`rsync validate` reports it too), then explain it again.',
    );
  }
  const lineage = mappingLineage(ws, file);
  const uses = flowsUsing(ws, file);
  const pii = [...new Set(uses.flatMap((u) => u.pii))];
  const explained: ExplainedField[] = (lineage?.fields ?? []).map((f) => ({
    ...f,
    sources: f.sources.map((s) => ({ ...s, pii: piiCarried(s.path, pii) })),
  }));
  const all = explained.flatMap((f) => f.sources);
  return {
    version: 1,
    file,
    usedBy: uses.map(({ pii: _pii, ...u }) => u),
    fields: explained,
    summary: {
      fields: explained.length,
      sources: new Set(all.map((s) => s.path)).size,
      pii: all.filter((s) => s.pii.length && !s.undecided).length,
      undecided: all.filter((s) => s.undecided).length,
    },
  };
}

function mappingFileNamed(ws: Workspace, root: string, what: string, cwd: string): string {
  const fromCwd = path.relative(root, path.resolve(cwd, what)).split(path.sep).join('/');
  for (const f of [fromCwd, what.replace(/^\.\//, '')]) if (f.endsWith('.jsonata') && ws.files.has(f)) return f;
  const [customer, name, ...rest] = what.split('/');
  const flow = rest.length === 0 && name ? ws.customers.get(customer)?.flows.get(name) : undefined;
  if (flow) {
    const m = text(flow.spec.mapping);
    const file = m === undefined ? undefined : resolveRelative(flow.dir, m);
    if (file && ws.files.has(file)) return file;
    throw new RsyncError(
      `flow ${what} has no mapping file${file ? ` (${file} does not exist)` : ''}`,
      ExitCode.FAILED,
      '`rsync validate` says what is wrong with its mapping.',
    );
  }
  const base = path.basename(what);
  const near = [...ws.files.keys()].filter((f) => f.endsWith('.jsonata') && path.basename(f) === base);
  throw new RsyncError(
    `${what} is neither a mapping file of the workspace nor a flow (<customer>/<flow>)`,
    ExitCode.FAILED,
    near.length
      ? `Did you mean ${near.slice(0, 3).join(', ')}?`
      : 'Give the path of a .jsonata file (from here, or from the workspace root), or a flow such as northwind/orders-to-erp.',
  );
}

/** The flows whose mapping is `file`, with their policy's PII paths and whether it keeps them from the target. */
function flowsUsing(ws: Workspace, file: string): (MappingUse & { pii: string[] })[] {
  const out: (MappingUse & { pii: string[] })[] = [];
  for (const c of ws.customers.values())
    for (const flow of c.flows.values()) {
      const m = text(flow.spec.mapping);
      if (m === undefined || resolveRelative(flow.dir, m) !== file) continue;
      out.push(useOf(ws, c.name, flow));
    }
  return out.sort((a, b) => (a.flow < b.flow ? -1 : 1));
}

function useOf(ws: Workspace, customer: string, flow: Resource<'Flow'>): MappingUse & { pii: string[] } {
  const policyName = policyNameOf(ws, flow).name;
  const policy = policyName === undefined ? undefined : lookupPolicy(ws, customer, policyName);
  const pii = fields<PiiPolicy>(policy?.spec.pii);
  const target = text(fields<Record<string, unknown>>(flow.spec.target).connection);
  const targetIs = target === undefined ? [] : systemNames(ws, customer, target);
  return {
    flow: addressOf(flow),
    policy: policy?.name ?? null,
    target: target ?? null,
    piiForbidden: strings(pii.forbidTargets).some((t) => targetIs.includes(t)),
    pii: strings(pii.fields),
  };
}
