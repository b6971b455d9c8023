/**
 * The loader: files → YAML documents with positions → resources, with templates instantiated and the chosen
 * environment's overlays merged. It reports what stops a document from being understood at all (syntax, an
 * unknown kind, a document in the wrong place, a duplicate name, an unknown template); everything else is the
 * validator's job (engine/validate), which checks the resolved resources this returns.
 */
import path from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { text } from '../model/guards.js';
import { isObject } from '../util/merge.js';
import {
  isKind,
  KINDS,
  type CustomerModel,
  type Kind,
  type Origin,
  type Resource,
  type Workspace,
} from '../model/workspace.js';
import type { ContentCache } from './content-cache.js';
import { FolderSource, GitRefSource, ROLLOUTS_FILE, WORKSPACE_FILE, type WorkspaceSource } from './source.js';
import { instantiateTemplates } from './templates.js';
import { applyOverlays } from './overlays.js';
import { fileStart, parseYamlFile, rangeOf, type YamlDoc } from './yaml.js';
import { UNREADABLE_CODES } from './yaml-guards.js';

export const API_VERSION = 'rsync/v1';

export interface LoadOptions {
  /** The workspace folder (the one with rsync.yaml). */
  root: string;
  /** Read the workspace as it is at this Git ref instead of the working tree. */
  ref?: string;
  /** Merge this environment's overlays. */
  env?: string;
}

export async function openSource(opts: LoadOptions): Promise<WorkspaceSource> {
  return opts.ref ? GitRefSource.open(opts.root, opts.ref) : new FolderSource(opts.root);
}

export async function loadWorkspace(opts: LoadOptions): Promise<Workspace> {
  const source = await openSource(opts);
  return loadFromSource(source, opts.env);
}

/** Where a kind may be declared. */
const PLACES: Record<'root' | 'rollouts' | 'customer' | 'template', readonly Kind[]> = {
  root: ['Workspace', 'Policy', 'SLA', 'Alert', 'Rollout'],
  rollouts: ['Rollout'],
  customer: ['Customer', 'Connection', 'Flow', 'Policy', 'SLA', 'Alert', 'Reconciliation', 'MappingTest'],
  template: ['Template', 'MappingTest'],
};
const PLACE_TEXT = {
  root: `${WORKSPACE_FILE} (Workspace, and partner-wide Policy, SLA, Alert and Rollout; Rollouts also in ${ROLLOUTS_FILE})`,
  rollouts: `${ROLLOUTS_FILE} (Rollout)`,
  customer: 'integrations/<customer>/ (Customer, Connection, Flow, Policy, SLA, Alert, Reconciliation, MappingTest)',
  template: 'templates/<name>/<version>/ (Template, MappingTest)',
};

/**
 * Parsed YAML files by path, reused while a file's text is unchanged (`rsync watch` keeps one across saves: parsing
 * is most of a reload). Parsed documents are never modified by the loader or the validator, so sharing them is safe.
 */
export type ParseCache = Map<string, { text: string; parsed: ReturnType<typeof parseYamlFile> }>;

/** `content`: results kept between commands by file content (engine/load/content-cache.ts); the validator uses it too. */
export async function loadFromSource(
  source: WorkspaceSource,
  env?: string,
  cache?: ParseCache,
  content?: ContentCache,
  /** Told after each YAML file is read: the CLI's counter on a terminal. */
  onFile?: (done: number, total: number) => void,
): Promise<Workspace> {
  const files = await source.files();
  const ws: Workspace = {
    source,
    env,
    files,
    content,
    policies: new Map(),
    slas: new Map(),
    alerts: new Map(),
    rollouts: new Map(),
    templates: new Map(),
    templateTests: [],
    customers: new Map(),
    diagnostics: [],
  };
  const diags = ws.diagnostics;
  if (!files.has(WORKSPACE_FILE)) {
    diags.push({
      severity: 'error',
      code: 'workspace-missing',
      summary: `No ${WORKSPACE_FILE} in ${source.label}`,
      detail: `A workspace is a folder with ${WORKSPACE_FILE} at its root. Run \`rsync init\` to create one, or point the command at the folder that has it.`,
    });
  }

  // Customer folders exist even when their customer.yaml is missing, so that the problem is reported once.
  for (const file of files.keys()) {
    const parts = file.split('/');
    if (parts[0] === 'integrations' && parts.length > 2 && !ws.customers.has(parts[1])) {
      ws.customers.set(parts[1], newCustomer(parts[1]));
    }
  }

  let yamlFiles = 0;
  let read = 0;
  if (onFile) for (const file of files.keys()) if (/\.ya?ml$/.test(file)) yamlFiles++;
  for (const [file, text] of files) {
    if (!/\.ya?ml$/.test(file)) continue;
    onFile?.(++read, yamlFiles);
    const parts = file.split('/');
    const place =
      file === WORKSPACE_FILE
        ? 'root'
        : file === ROLLOUTS_FILE
          ? 'rollouts'
          : parts[0] === 'templates'
            ? 'template'
            : parts.length > 2
              ? 'customer'
              : undefined;
    let hit = cache?.get(file);
    if (!hit || hit.text !== text) {
      hit = { text, parsed: parseYamlFile(file, text, content) };
      cache?.set(file, hit);
    }
    const parsed = hit.parsed;
    diags.push(...parsed.diagnostics);
    if (!place) {
      diags.push({
        severity: 'error',
        code: 'document-misplaced',
        summary: 'File outside a customer folder',
        detail: `${file} is directly under integrations/. Move it into integrations/<customer>/, the folder of the customer it belongs to.`,
        range: fileStart(file),
      });
      continue;
    }
    for (const doc of parsed.docs) {
      const r = toResource(doc, diags);
      if (!r) continue;
      if (!PLACES[place].includes(r.kind)) {
        diags.push({
          severity: 'error',
          code: 'document-misplaced',
          summary: `A ${r.kind} cannot be declared here`,
          detail: `${r.kind} documents belong in ${PLACE_TEXT[r.kind === 'Workspace' || r.kind === 'Rollout' ? 'root' : r.kind === 'Template' ? 'template' : 'customer']}; this file is in ${PLACE_TEXT[place]}. Move the document.`,
          range: rangeOf(doc, ['kind']),
        });
        continue;
      }
      if (place === 'customer') r.customer = parts[1];
      register(ws, r, place === 'rollouts' ? 'root' : place);
    }
  }

  for (const c of ws.customers.values()) {
    // A customer.yaml that does not parse is reported as such; "no Customer document" would send the user looking.
    const unparsable = diags.some((d) => UNREADABLE_CODES.has(d.code) && d.range?.file.startsWith(`${c.folder}/`));
    if (!c.resource && !unparsable) {
      diags.push({
        severity: 'error',
        code: 'customer-missing',
        summary: `Customer folder ${c.folder} has no Customer document`,
        detail: `Add ${c.folder}/customer.yaml with \`kind: Customer\` and \`metadata.name: ${c.name}\`.`,
        range: fileStart(`${c.folder}/customer.yaml`),
      });
    }
  }

  instantiateTemplates(ws);
  if (env !== undefined) applyOverlays(ws, env);
  return ws;
}

function newCustomer(name: string): CustomerModel {
  return {
    name,
    folder: `integrations/${name}`,
    connections: new Map(),
    flows: new Map(),
    policies: new Map(),
    slas: new Map(),
    alerts: new Map(),
    reconciliations: new Map(),
    mappingTests: [],
  };
}

/** A document as a resource, or undefined (with a diagnostic) when it is not one we can classify. */
function toResource(doc: YamlDoc, diags: Diagnostic[]): Resource | undefined {
  const v = doc.value;
  if (!isObject(v)) {
    diags.push({
      severity: 'error',
      code: 'document-not-object',
      summary: 'Document is not a mapping',
      detail: 'Every rsync document is a YAML mapping with apiVersion, kind, metadata and spec.',
      range: rangeOf(doc, []),
    });
    return undefined;
  }
  const kind = text(v.kind);
  if (!isKind(kind)) {
    diags.push({
      severity: 'error',
      code: 'kind-unknown',
      summary: kind !== undefined ? `Unknown kind "${kind}"` : 'Document has no kind',
      detail: `Set \`kind:\` to one of ${KINDS.join(', ')}.${kind !== undefined ? suggest(kind, KINDS) : ''}`,
      range: rangeOf(doc, ['kind'], kind === undefined),
    });
    return undefined;
  }
  const metadata = isObject(v.metadata) ? v.metadata : {};
  const name = text(metadata.name) ?? '';
  const origin: Origin = { doc, base: [] };
  return {
    kind,
    name,
    apiVersion: text(v.apiVersion) ?? '',
    metadata: { ...metadata, name },
    spec: isObject(v.spec) ? v.spec : {},
    origin,
    dir: path.posix.dirname(doc.file),
  };
}

function register(ws: Workspace, r: Resource, place: 'root' | 'customer' | 'template'): void {
  const dup = (existing: Resource | undefined): boolean => {
    if (!existing || !r.name) return false;
    const first = rangeOf(existing.origin.doc, [...existing.origin.base, 'metadata', 'name']);
    ws.diagnostics.push({
      severity: 'error',
      code: 'duplicate-name',
      summary: `Duplicate ${r.kind} "${r.name}"`,
      detail: `${r.kind} "${r.name}" is already declared at ${first.file}:${first.start.line}:${first.start.column}. Names are unique per kind${r.customer ? ` within customer ${r.customer}` : ''}: rename one of them.`,
      range: rangeOf(r.origin.doc, ['metadata', 'name']),
    });
    return true;
  };
  // PLACES (checked by the caller) decides which kinds reach each place; a kind that cannot be there is ignored.
  if (place === 'root') {
    if (r.kind === 'Workspace') {
      if (ws.settings) {
        ws.diagnostics.push({
          severity: 'error',
          code: 'duplicate-name',
          summary: 'A second Workspace document',
          detail: `${WORKSPACE_FILE} holds one Workspace document; merge the two.`,
          range: rangeOf(r.origin.doc, ['kind']),
        });
      } else ws.settings = r;
    } else if (r.kind === 'Policy') {
      if (!dup(ws.policies.get(r.name))) ws.policies.set(r.name, r);
    } else if (r.kind === 'SLA') {
      if (!dup(ws.slas.get(r.name))) ws.slas.set(r.name, r);
    } else if (r.kind === 'Alert') {
      if (!dup(ws.alerts.get(r.name))) ws.alerts.set(r.name, r);
    } else if (r.kind === 'Rollout') {
      if (!dup(ws.rollouts.get(r.name))) ws.rollouts.set(r.name, r);
    }
    return;
  }
  if (place === 'template') {
    if (r.kind === 'MappingTest') {
      ws.templateTests.push(r);
      return;
    }
    if (r.kind !== 'Template') return;
    const version = r.spec.version;
    const key = `${r.name}@${typeof version === 'number' ? version : '?'}`;
    const existing = ws.templates.get(key);
    if (existing) {
      const first = rangeOf(existing.origin.doc, ['metadata', 'name']);
      ws.diagnostics.push({
        severity: 'error',
        code: 'duplicate-name',
        summary: `Duplicate template ${key}`,
        detail: `Template ${key} is already declared at ${first.file}:${first.start.line}:${first.start.column}. Give this one a new spec.version.`,
        range: rangeOf(r.origin.doc, ['spec', 'version']),
      });
    } else ws.templates.set(key, r);
    return;
  }
  const c = ws.customers.get(r.customer!)!;
  switch (r.kind) {
    case 'Customer':
      if (c.resource) {
        const first = rangeOf(c.resource.origin.doc, ['kind']);
        ws.diagnostics.push({
          severity: 'error',
          code: 'duplicate-name',
          summary: `A second Customer document in ${c.folder}`,
          detail: `The customer is already declared at ${first.file}:${first.start.line}:${first.start.column}; a customer folder has one Customer document.`,
          range: rangeOf(r.origin.doc, ['kind']),
        });
        return;
      }
      if (r.name && r.name !== c.name) {
        ws.diagnostics.push({
          severity: 'error',
          code: 'customer-name-mismatch',
          summary: `Customer "${r.name}" is in folder ${c.folder}`,
          detail: `A customer's name is its folder's name. Rename the folder to integrations/${r.name}/ or set metadata.name: ${c.name}.`,
          range: rangeOf(r.origin.doc, ['metadata', 'name']),
        });
      }
      c.resource = r;
      return;
    case 'Connection':
      if (!dup(c.connections.get(r.name))) c.connections.set(r.name, r);
      return;
    case 'Flow':
      if (!dup(c.flows.get(r.name))) c.flows.set(r.name, r);
      return;
    case 'Policy':
      if (!dup(c.policies.get(r.name))) c.policies.set(r.name, r);
      return;
    case 'SLA':
      if (!dup(c.slas.get(r.name))) c.slas.set(r.name, r);
      return;
    case 'Alert':
      if (!dup(c.alerts.get(r.name))) c.alerts.set(r.name, r);
      return;
    case 'Reconciliation':
      if (!dup(c.reconciliations.get(r.name))) c.reconciliations.set(r.name, r);
      return;
    case 'MappingTest':
      c.mappingTests.push(r);
      return;
    default:
      return;
  }
}

/** " Did you mean X?" when a close name exists (edit distance ≤ 2, or same letters in another case). */
export function suggest(given: string, names: Iterable<string>): string {
  let best: string | undefined;
  let bestD = 3;
  for (const n of names) {
    const d = n.toLowerCase() === given.toLowerCase() ? 0 : distance(given, n);
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return best !== undefined ? ` Did you mean "${best}"?` : '';
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
