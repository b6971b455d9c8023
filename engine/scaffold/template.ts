/**
 * The template a new workspace starts from: read from rsync's own templates/ (the installation's, not the
 * partner's), and the choices `rsync init` makes for it — the `with:` parameters of the customer's `uses:` entry
 * and the Connection each flow's source and target need, with the connector that can serve it.
 *
 * Nothing here writes files; it only reads the template folder and decides.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONNECTORS } from '../connectors/catalog.js';
import type { ConnectorSpec } from '../connectors/spec.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { substitute } from '../load/templates.js';
import type {
  FlowSource,
  FlowTarget,
  FlowTrigger,
  MappingTestCase,
  MappingTestInput,
  MappingTestSpec,
  Schedule,
  TemplateFlow,
  TemplateSpec,
} from '../model/generated/index.js';
import { fields, items, strings, text, triggerEvents } from '../model/guards.js';
import type { Unchecked } from '../model/workspace.js';
import { isObject } from '../util/merge.js';
import { checkCron } from '../validate/schedule.js';

/** A template found in an installation's templates/<name>/<version>/ folder. */
export interface TemplateSource {
  name: string;
  version: number;
  /** Absolute folder templates/<name>/<version>. */
  dir: string;
  /** Files of the folder, relative to it, with forward slashes. */
  files: string[];
  spec: Unchecked<TemplateSpec>;
  /** Every MappingTest document of the folder, with the folder-relative file it is in. */
  tests: { file: string; spec: Unchecked<MappingTestSpec> }[];
}

/** What the customer's connections are: one per connection name the template's flows use. */
export interface ConnectionPlan {
  name: string;
  connector: ConnectorSpec;
  /** 'source' when a flow reads from it (it may also be written to). */
  role: 'source' | 'target';
  /** A flow reads webhook events from it. */
  events: boolean;
}

export interface TemplatePlan {
  template: TemplateSource;
  /** The `with:` of the customer's `uses:` entry (required and connection parameters only; defaults apply to the rest). */
  with: Record<string, unknown>;
  /** Parameters left to their defaults, for a comment in customer.yaml. */
  defaults: Record<string, unknown>;
  connections: ConnectionPlan[];
  /** Canonical entity → the connector type that should own it (the source of the flows that carry it). */
  owners: Record<string, string>;
  /** The longest wait between two runs of the template's scheduled flows (undefined when none is scheduled). */
  maxScheduleGapMs?: number;
  /** Things the partner has to finish by hand. */
  notes: string[];
}

const REF = /^([a-z][a-z0-9-]*)(?:@(\d+))?$/;

/** The templates of an installation, as name@version, sorted. */
export async function listTemplates(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await dirs(path.join(root, 'templates'))) {
    for (const v of await dirs(path.join(root, 'templates', name))) if (/^\d+$/.test(v)) out.push(`${name}@${v}`);
  }
  return out.sort();
}

/** Read `name@version` (or `name`, meaning its highest version) from `<root>/templates/`. */
export async function readTemplate(root: string, ref: string): Promise<TemplateSource> {
  const m = REF.exec(ref);
  const available = await listTemplates(root);
  const list = available.length ? available.join(', ') : '(none)';
  if (!m)
    throw new RsyncError(
      `"${ref}" is not a template reference.`,
      ExitCode.USAGE,
      `Write name@version, e.g. shopify-orders-to-erp@1. Available: ${list}.`,
    );
  const name = m[1];
  const versions = available.filter((t) => t.startsWith(`${name}@`)).map((t) => Number(t.split('@')[1]));
  const version = m[2] !== undefined ? Number(m[2]) : Math.max(...versions);
  if (!versions.includes(version)) {
    throw new RsyncError(
      versions.length
        ? `Template ${name} has no version ${m[2]}.`
        : `No template named ${name} in ${path.join(root, 'templates')}.`,
      ExitCode.USAGE,
      `Choose one of: ${list}.`,
    );
  }
  const dir = path.join(root, 'templates', name, String(version));
  const files = (await walk(dir)).sort();
  let spec: Unchecked<TemplateSpec> | undefined;
  const tests: TemplateSource['tests'] = [];
  for (const file of files.filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length) continue; // `rsync validate` in the new workspace reports it, with its position
      const v: unknown = doc.toJS();
      if (!isObject(v) || !isObject(v.spec)) continue;
      if (v.kind === 'Template' && file === 'template.yaml') spec = v.spec;
      else if (v.kind === 'MappingTest') tests.push({ file, spec: v.spec });
    }
  }
  if (!spec)
    throw new RsyncError(
      `${path.join(dir, 'template.yaml')} holds no Template document.`,
      ExitCode.NO_INPUT,
      'Choose another template.',
    );
  return { name, version, dir, files, spec, tests };
}

/**
 * Decide the customer's use of the template: which parameters name connections (found by substituting a marker for
 * each parameter without a default and seeing which ones land in a flow's source or target), which connector each
 * connection needs (from the streams, events and entities the flows use, and an enum parameter `<connection>Type`
 * when the template has one), and values for the other parameters without a default: the entity or event of the
 * chosen connector a flow needs, the connector type, the first enum value, placeholders for the rest.
 */
export function planTemplate(t: TemplateSource, customer: string, erp: string | undefined): TemplatePlan {
  // The parameters are a JSON Schema of their own: its object keywords are the ones read here.
  const schema = fields<{ properties: unknown; required: unknown }>(t.spec.parameters);
  const props = fields(schema.properties) as Record<string, Record<string, unknown>>;
  const required = new Set(strings(schema.required));
  const defaults: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(props)) if (isObject(p) && 'default' in p) defaults[k] = p.default;

  const marker = (k: string) => `\u0000param:${k}\u0000`;
  const paramOf = (v: unknown) => (typeof v === 'string' ? Object.keys(props).find((k) => v === marker(k)) : undefined);
  const concrete = (v: unknown) => {
    const s = text(v);
    return s?.includes('\u0000') ? undefined : s;
  };
  const trial: Record<string, unknown> = { ...defaults };
  for (const k of Object.keys(props)) if (!(k in defaults)) trial[k] = marker(k);
  const flows = items(t.spec.flows)
    .map((f) => substitute(f, { with: trial, customer: { name: customer } }, () => {}))
    .filter(isObject)
    .map((f) => fields<TemplateFlow['spec']>(fields<TemplateFlow>(f).spec));

  // Each connection (a parameter, or a name the template fixes) and what the flows ask of it.
  interface Use {
    param?: string;
    streams: { stream?: string; event?: string; eventParam?: string }[];
    entities: { entity?: string; entityParam?: string; canonical?: string }[];
  }
  const uses = new Map<string, Use>();
  const use = (conn: unknown): Use | undefined => {
    const param = paramOf(conn);
    const id = param ? `param:${param}` : concrete(conn);
    if (!id) return undefined;
    if (!uses.has(id)) uses.set(id, { param, streams: [], entities: [] });
    return uses.get(id);
  };
  const sourceOf: { canonical: string; id: string }[] = [];
  let maxScheduleGapMs: number | undefined;
  for (const f of flows) {
    const source = fields<FlowSource>(f.source);
    const target = fields<FlowTarget>(f.target);
    const trigger = fields<FlowTrigger>(f.trigger);
    const canonical = concrete(f.canonical);
    const s = use(source.connection);
    s?.streams.push({
      stream: concrete(source.stream),
      event: concrete(triggerEvents(trigger.event)[0]),
      eventParam: paramOf(triggerEvents(trigger.event)[0]),
    });
    const d = use(target.connection);
    d?.entities.push({ entity: concrete(target.entity), entityParam: paramOf(target.entity), canonical });
    if (s && canonical) sourceOf.push({ canonical, id: s.param ? `param:${s.param}` : String(source.connection) });
    const cron = concrete(fields<Schedule>(trigger.schedule).cron);
    const checked = cron ? checkCron(cron, 'UTC') : undefined;
    if (checked?.ok) maxScheduleGapMs = Math.max(maxScheduleGapMs ?? 0, checked.maxGapMs);
  }

  const notes: string[] = [];
  const label = `${t.name}@${t.version}`;
  const hints = t.name.split('-');
  const typeParam = (p?: string) =>
    p ? Object.keys(props).find((k) => k === `${p}Type` || k === `${p}Connector`) : undefined;
  const accepts = (c: ConnectorSpec, canonical?: string) =>
    Object.keys(c.entities).filter((e) => !canonical || c.entities[e].accepts.includes(canonical as never));
  const eventsOf = (c: ConnectorSpec, stream?: string) =>
    Object.keys(c.events).filter((e) => !stream || c.events[e].stream === stream);
  const connections: ConnectionPlan[] = [];
  const byId = new Map<string, ConnectionPlan>();
  const withValue: Record<string, unknown> = {};
  for (const [id, u] of uses) {
    const typeEnum = props[typeParam(u.param) ?? '']?.enum;
    const fits = Object.values(CONNECTORS).filter(
      (c) =>
        !c.dynamic &&
        (!Array.isArray(typeEnum) || typeEnum.includes(c.name)) &&
        u.streams.every(
          (s) =>
            (!s.stream || s.stream in c.streams) &&
            (s.event ? s.event in c.events : !s.eventParam || eventsOf(c, s.stream).length > 0),
        ) &&
        u.entities.every((e) =>
          e.entity
            ? e.entity in c.entities && accepts(c, e.canonical).includes(e.entity)
            : accepts(c, e.canonical).length > 0,
        ),
    );
    // --erp is about the connection the template calls its ERP (a parameter named so), or a target only ERPs fit.
    const wantsErp =
      Boolean(erp) &&
      (/erp/i.test(u.param ?? id) ||
        (u.entities.length > 0 && fits.every((c) => c.category === 'erp' || c.category === 'sandbox')));
    const rank = (c: ConnectorSpec) =>
      (wantsErp && c.name === erp ? 0 : 10) + (hints.includes(c.name) ? 0 : 5) + (c.category === 'sandbox' ? 2 : 0);
    const connector = fits.sort((a, b) => rank(a) - rank(b))[0];
    const what = u.param ? `parameter "${u.param}"` : `"${id}"`;
    if (!connector) {
      notes.push(
        `No connector in the catalogue can serve connection ${what} of template ${label}; declare its Connection by hand.`,
      );
      continue;
    }
    if (wantsErp && connector.name !== erp) {
      notes.push(`Template ${label} cannot use a ${erp} connection for ${what}; it uses ${connector.name}.`);
    }
    let name = !u.param
      ? id
      : connector.category === 'sandbox'
        ? `sandbox-${u.streams.length ? 'source' : 'erp'}`
        : connector.name;
    if (u.param && connections.some((c) => c.name === name))
      name = `${name}-${u.param.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`; // two stores of one kind
    const plan: ConnectionPlan = {
      name,
      connector,
      role: u.streams.length ? 'source' : 'target',
      events: u.streams.some((s) => s.event || s.eventParam),
    };
    if (!connections.some((c) => c.name === name)) connections.push(plan); // a name the template fixes may come twice
    byId.set(id, plan);
    if (u.param) withValue[u.param] = name;
    const tp = typeParam(u.param);
    if (tp && !(tp in defaults)) withValue[tp] = connector.name;
    for (const e of u.entities) if (e.entityParam) withValue[e.entityParam] ??= accepts(connector, e.canonical)[0];
    for (const s of u.streams) if (s.eventParam) withValue[s.eventParam] ??= eventsOf(connector, s.stream)[0];
  }

  // Source-of-truth: the system a flow reads an entity from owns it.
  const owners: Record<string, string> = {};
  for (const o of sourceOf) {
    const c = byId.get(o.id);
    if (c) owners[o.canonical] = c.connector.name;
  }

  // The other parameters without a default.
  for (const [k, p] of Object.entries(props)) {
    if (k in withValue || k in defaults) continue;
    if (Array.isArray(p.enum) && p.enum.length) withValue[k] = p.enum.includes(erp) ? erp : p.enum[0];
    else if (!required.has(k)) continue;
    else if (/currency/i.test(k) || p.pattern === '^[A-Z]{3}$') withValue[k] = 'USD';
    else {
      const value = placeholder(p);
      if (value === undefined) {
        notes.push(`Parameter "${k}" of template ${label} has no default: set it under \`with:\` in customer.yaml.`);
        continue;
      }
      withValue[k] = value;
      notes.push(
        `Parameter "${k}" of template ${label} is a placeholder (CHANGE-ME): set the real value under \`with:\` in customer.yaml.`,
      );
    }
  }
  const left: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(defaults)) if (!(k in withValue)) left[k] = v;
  return { template: t, with: withValue, defaults: left, connections, owners, maxScheduleGapMs, notes };
}

/** A value that passes a simple JSON Schema (strings without pattern, objects of them), or undefined. */
function placeholder(p: Record<string, unknown>): unknown {
  if (p.type === 'string' && typeof p.pattern !== 'string' && p.format === undefined) return 'CHANGE-ME';
  if (p.type === 'object' && isObject(p.properties)) {
    const out: Record<string, unknown> = {};
    for (const k of Array.isArray(p.required) ? p.required : []) {
      const v = isObject(p.properties[k]) ? placeholder(p.properties[k] as Record<string, unknown>) : undefined;
      if (v === undefined) return undefined;
      out[k] = v;
    }
    return out;
  }
  return undefined;
}

/**
 * Files the template's mapping tests read (`input.file`, `outputFile`), as paths relative to the installation's
 * root. They are copied to the same relative paths in the new workspace, so the tests' `../../..` paths still hold.
 */
export function fixtureFiles(root: string, t: TemplateSource): { files: string[]; outside: string[] } {
  const files = new Set<string>();
  const outside = new Set<string>();
  const templateRel = path.relative(root, t.dir);
  for (const test of t.tests) {
    for (const c of items(test.spec.cases).map(fields<MappingTestCase>)) {
      for (const ref of strings([fields<MappingTestInput>(c.input).file, c.outputFile])) {
        const rel = path.posix.normalize(
          path.posix.join(templateRel.split(path.sep).join('/'), path.posix.dirname(test.file), ref),
        );
        if (rel.startsWith('../') || path.posix.isAbsolute(ref)) outside.add(ref);
        else if (!rel.startsWith(`${templateRel.split(path.sep).join('/')}/`)) files.add(rel); // inside the template folder it is copied with it
      }
    }
  }
  return { files: [...files].sort(), outside: [...outside].sort() };
}

async function dirs(p: string): Promise<string[]> {
  try {
    return (await readdir(p, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, child)));
    else if (e.isFile()) out.push(child);
  }
  return out;
}
