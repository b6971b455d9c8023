/**
 * Comparing two desired states: a pure function, like the planner but with Git on both sides. Pair by address
 * first with the planner's own step (engine/plan/pair.ts: head is the new side, base the old), then diff the
 * pairs field by field (engine/plan/diff.ts) and their mappings line by line.
 *
 * Without an environment, resources are compared as declared and each document's `environments:` overlays are
 * compared as a field of their own (`environments.staging.trigger…`), so a change to a staging overlay is not
 * invisible; with an environment, the overlays are already merged and both sides are what a plan would deploy.
 */
import path from 'node:path';
import { desiredState, type DesiredState } from '../plan/desired.js';
import { fieldChanges, lineDiff } from '../plan/diff.js';
import { pairByAddress } from '../plan/pair.js';
import { identityOf, type Action, type DeployableResource, type FieldChange } from '../plan/types.js';
import { addressOf, allResources, type Workspace } from '../model/workspace.js';
import { hashOf } from '../util/hash.js';
import { isObject } from '../util/merge.js';
import type { DiffSummary, ResourceChange, TemplateChange, TemplateMove } from './types.js';

/** What one side contributes to a diff. */
export interface SideState {
  desired: DesiredState;
  /** The workspace's files (templates' file changes are found from them). */
  files: Map<string, string>;
  /** Template folder (templates/<name>/<version>) → name@version, from the Template documents. */
  templateFolders: Map<string, string>;
  /** The Workspace document's spec (rsync.yaml), when there is one. */
  settings?: Record<string, unknown>;
}

export const EMPTY_SIDE: SideState = {
  desired: { resources: [], blobs: new Map() },
  files: new Map(),
  templateFolders: new Map(),
};

/** A side from a loaded workspace (valid or not: whatever could be read is compared). */
export function sideState(ws: Workspace, customers?: Set<string>): SideState {
  const desired = desiredState(ws, customers);
  if (ws.env === undefined) {
    const overlays = new Map<string, unknown>();
    for (const r of allResources(ws)) {
      // Template flows take environment values through their use's `environments.<env>.with` (in customer.yaml).
      if (r.template || r.origin.base.length) continue;
      const raw = r.origin.doc.value;
      if (isObject(raw) && raw.environments !== undefined) overlays.set(addressOf(r), raw.environments);
    }
    desired.resources = desired.resources.map((d) => {
      if (!overlays.has(d.address)) return d;
      const spec = { ...d.spec, environments: overlays.get(d.address) };
      return { ...d, spec, hash: hashOf(spec) };
    });
  }
  const templateFolders = new Map<string, string>();
  for (const [key, t] of ws.templates) templateFolders.set(path.posix.dirname(t.origin.doc.file), key);
  return {
    desired,
    files: ws.files,
    templateFolders,
    settings: ws.settings ? { metadata: ws.settings.metadata, spec: ws.settings.spec } : undefined,
  };
}

export interface Comparison {
  changes: ResourceChange[];
  settings: FieldChange[];
  templates: TemplateChange[];
  moves: TemplateMove[];
  summary: DiffSummary;
}

function byAddress(a: { address: string }, b: { address: string }): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

interface MappingRef {
  file?: string;
  sha256?: string;
}

function mappingOf(r: DeployableResource | undefined): MappingRef | undefined {
  return r && isObject(r.spec.mapping) ? (r.spec.mapping as MappingRef) : undefined;
}

function effective(r: DeployableResource): Record<string, unknown> {
  return isObject(r.spec.effective) ? r.spec.effective : {};
}

function lastSegment(address: unknown): string {
  return typeof address === 'string' ? address.slice(address.lastIndexOf('/') + 1) : '(none)';
}

function templateStep(from: string | null, to: string | null): string {
  const [fromName] = (from ?? '').split('@');
  const [toName, toVersion] = (to ?? '').split('@');
  if (from && to && fromName === toName) return `template ${from} → @${toVersion}`;
  return `template ${from ?? '(none)'} → ${to ?? '(none)'}`;
}

function describeFields(paths: string[]): string {
  const names = paths.map((p) => p.replace(/^spec\./, ''));
  const shown = names.slice(0, 3).join(', ');
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}

/** A short explanation of an update, from what changed in it. */
function reasonOf(
  have: DeployableResource,
  want: DeployableResource,
  fields: FieldChange[],
  mappingChanged: boolean,
): string {
  const reasons: string[] = [];
  const covered = new Set<string>();
  if (mappingChanged) reasons.push('mapping changed');
  if (have.template !== want.template) reasons.push(templateStep(have.template, want.template));
  const before = effective(have);
  const after = effective(want);
  const cron = (e: Record<string, unknown>) =>
    isObject(e.schedule) && typeof e.schedule.cron === 'string' ? e.schedule.cron : undefined;
  if (before.trigger !== after.trigger) {
    reasons.push(`trigger ${String(before.trigger ?? '(none)')} → ${String(after.trigger ?? '(none)')}`);
    fields.filter((f) => f.path.startsWith('spec.trigger')).forEach((f) => covered.add(f.path));
  } else if (cron(before) !== cron(after)) {
    reasons.push(`schedule "${cron(before)}" → "${cron(after)}"`);
    fields.filter((f) => f.path.startsWith('spec.trigger.schedule.cron')).forEach((f) => covered.add(f.path));
  }
  const tzBefore = isObject(before.schedule) ? before.schedule.timezone : undefined;
  const tzAfter = isObject(after.schedule) ? after.schedule.timezone : undefined;
  if (cron(before) && cron(after) && tzBefore !== tzAfter)
    reasons.push(`time zone ${String(tzBefore)} → ${String(tzAfter)}`);
  if (before.policy !== after.policy)
    reasons.push(`policy ${lastSegment(before.policy)} → ${lastSegment(after.policy)}`);
  if (before.sla !== after.sla) reasons.push(`SLA ${lastSegment(before.sla)} → ${lastSegment(after.sla)}`);
  const params = fields
    .filter((f) => f.path.startsWith('template.with.'))
    .map((f) => f.path.slice('template.with.'.length).split(/[.[]/)[0]);
  if (params.length)
    reasons.push(
      `template parameter${new Set(params).size === 1 ? '' : 's'} ${[...new Set(params)].join(', ')} changed`,
    );
  // The template's own label follows the template: already said above.
  if (have.template !== want.template)
    fields.filter((f) => f.path === 'metadata.labels.rsync.dev/template').forEach((f) => covered.add(f.path));
  const other = fields
    .filter((f) => !/^(mapping|effective|template)\./.test(f.path) && !covered.has(f.path))
    .map((f) => f.path);
  if (other.length) reasons.push(`${describeFields(other)} changed`);
  return reasons.join('; ') || 'changed';
}

/** Flows that use a connection, policy or SLA (addresses), on one side. */
function usersOf(r: DeployableResource, flows: DeployableResource[]): string[] | undefined {
  if (r.kind === 'policy' || r.kind === 'sla')
    return flows.filter((f) => effective(f)[r.kind] === r.address).map((f) => f.address);
  if (r.kind === 'connection') {
    return flows
      .filter((f) => {
        if (f.customer !== r.customer || !isObject(f.spec.spec)) return false;
        const s = f.spec.spec;
        const conn = (v: unknown) => (isObject(v) ? v.connection : undefined);
        return conn(s.source) === r.name || conn(s.target) === r.name;
      })
      .map((f) => f.address);
  }
  return undefined;
}

export function compareSides(
  before: SideState,
  after: SideState,
  opts: { customers?: Set<string> | null } = {},
): Comparison {
  const scope = opts.customers?.size ? opts.customers : null;
  const headFlows = after.desired.resources.filter((r) => r.kind === 'flow');
  const baseFlows = before.desired.resources.filter((r) => r.kind === 'flow');
  const changes: ResourceChange[] = [];
  let unchanged = 0;

  for (const pair of pairByAddress(after.desired.resources, before.desired.resources, scope)) {
    if (pair.action === 'delete') {
      const old = pair.have;
      const change: ResourceChange = {
        ...identityOf(old),
        action: 'delete',
        reason: `removed${old.template ? ` (was from template ${old.template})` : ''}`,
        fields: [],
        template: { before: old.template, after: null },
        source: old.source,
      };
      const used = usersOf(old, baseFlows);
      if (used) change.usedBy = used;
      changes.push(change);
      continue;
    }
    const { want } = pair;
    const common = { ...identityOf(want), source: want.source };
    if (pair.action === 'create') {
      const change: ResourceChange = {
        ...common,
        action: 'create',
        reason: `added${want.template ? ` (from template ${want.template})` : ''}`,
        fields: [],
        template: { before: null, after: want.template },
      };
      const used = usersOf(want, headFlows);
      if (used) change.usedBy = used;
      changes.push(change);
      continue;
    }
    const old = pair.have;
    if (old.hash === want.hash) {
      unchanged++;
      continue;
    }
    const oldMapping = mappingOf(old);
    const newMapping = mappingOf(want);
    const mappingChanged = (oldMapping?.sha256 ?? null) !== (newMapping?.sha256 ?? null);
    const fields = fieldChanges(old.spec, want.spec).filter(
      (f) => f.path !== 'mapping.sha256' && !(mappingChanged && f.path === 'mapping.file') && f.path !== 'mapping',
    );
    const change: ResourceChange = {
      ...common,
      action: 'update',
      reason: reasonOf(old, want, fields, mappingChanged),
      fields,
      template: { before: old.template, after: want.template },
    };
    if (mappingChanged) {
      const text = (side: SideState, m: MappingRef | undefined) =>
        m?.sha256 ? (side.desired.blobs.get(m.sha256) ?? '') : '';
      change.mapping = {
        before: oldMapping?.file ?? null,
        after: newMapping?.file ?? null,
        diff: lineDiff(text(before, oldMapping), text(after, newMapping)),
      };
    }
    const used = usersOf(want, headFlows);
    if (used) change.usedBy = used;
    changes.push(change);
  }
  changes.sort(byAddress);

  return {
    changes,
    settings: fieldChanges(before.settings ?? {}, after.settings ?? {}),
    templates: templateChanges(before, after, changes),
    moves: templateMoves(changes),
    summary: summarise(changes, unchanged),
  };
}

/** The template folder a file belongs to: a declared template's folder, else templates/<a>/<b>. */
function folderOf(file: string, folders: Map<string, string>): string {
  for (let dir = path.posix.dirname(file); dir.startsWith('templates/'); dir = path.posix.dirname(dir)) {
    if (folders.has(dir)) return dir;
  }
  return file.split('/').slice(0, 3).join('/');
}

function templateChanges(before: SideState, after: SideState, changes: ResourceChange[]): TemplateChange[] {
  const folders = new Map([...before.templateFolders, ...after.templateFolders]);
  const byFolder = new Map<string, { path: string; action: Action }[]>();
  const add = (file: string, action: Action) => {
    const folder = folderOf(file, folders);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), { path: file, action }]);
  };
  for (const [file, text] of after.files) {
    if (!file.startsWith('templates/')) continue;
    const old = before.files.get(file);
    if (old === undefined) add(file, 'create');
    else if (old !== text) add(file, 'update');
  }
  for (const file of before.files.keys())
    if (file.startsWith('templates/') && !after.files.has(file)) add(file, 'delete');

  const out: TemplateChange[] = [];
  for (const [folder, files] of byFolder) {
    const key = folders.get(folder) ?? folder;
    const action: Action =
      !before.templateFolders.has(folder) && after.templateFolders.has(folder)
        ? 'create'
        : before.templateFolders.has(folder) && !after.templateFolders.has(folder)
          ? 'delete'
          : 'update';
    // The flows made from this template, and those whose mapping is one of its files (a later version that keeps
    // an earlier one's mapping: the change reaches them through the file, not the version they name).
    const inFolder = (file: string | null | undefined) => !!file && file.startsWith(`${folder}/`);
    const flows = changes.filter(
      (c) =>
        c.kind === 'flow' &&
        (c.template.before === key ||
          c.template.after === key ||
          inFolder(c.mapping?.before) ||
          inFolder(c.mapping?.after)),
    );
    out.push({
      template: key,
      action,
      files: files.sort((a, b) => (a.path < b.path ? -1 : 1)),
      customers: [...new Set(flows.map((c) => c.customer).filter((c): c is string => c !== null))].sort(),
      flows: flows.map((c) => c.address),
    });
  }
  return out.sort((a, b) => (a.template < b.template ? -1 : 1));
}

function templateMoves(changes: ResourceChange[]): TemplateMove[] {
  const moves = new Map<string, TemplateMove>();
  for (const c of changes) {
    const { before, after } = c.template;
    if (c.kind !== 'flow' || c.action !== 'update' || !before || !after || before === after || !c.customer) continue;
    const key = `${c.customer}\0${before}\0${after}`;
    const m = moves.get(key) ?? { customer: c.customer, from: before, to: after, flows: [] };
    m.flows.push(c.address);
    moves.set(key, m);
  }
  return [...moves.values()].sort((a, b) =>
    a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : a.from < b.from ? -1 : 1,
  );
}

function summarise(changes: ResourceChange[], unchanged: number): DiffSummary {
  const s: DiffSummary = { create: 0, update: 0, delete: 0, unchanged, byCustomer: {}, byTemplate: {} };
  const customersOf = new Map<string, Set<string>>();
  for (const c of changes) {
    s[c.action]++;
    const per = (s.byCustomer[c.customer ?? '(partner-wide)'] ??= { create: 0, update: 0, delete: 0 });
    per[c.action]++;
    const template = c.action === 'delete' ? c.template.before : c.template.after;
    if (template && c.kind === 'flow') {
      const t = (s.byTemplate[template] ??= { customers: 0, flows: 0 });
      t.flows++;
      const set = customersOf.get(template) ?? new Set<string>();
      if (c.customer) set.add(c.customer);
      customersOf.set(template, set);
      t.customers = set.size;
    }
  }
  return s;
}
