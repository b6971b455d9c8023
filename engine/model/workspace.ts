/**
 * The loaded workspace: every declared resource with its resolved value and where it came from.
 *
 * Terminology (DESIGN.md): a *workspace* is a partner's repository; a *customer* is one retailer
 * (integrations/<customer>/); a *resource* is one declared document (Connection, Flow, Policy, SLA, …);
 * its *address* is `<customer>/<kind>/<name>`, prefixed by `<env>/` when an environment is chosen.
 */
import type { Diagnostic, SourceRange } from '../diagnostics/diagnostic.js';
import type { ContentCache } from '../load/content-cache.js';
import type { WorkspaceSource } from '../load/source.js';
import type { Path, YamlDoc } from '../load/yaml.js';

export const KINDS = [
  'Workspace',
  'Customer',
  'Connection',
  'Flow',
  'Policy',
  'SLA',
  'Template',
  'MappingTest',
] as const;
export type Kind = (typeof KINDS)[number];

/** Where a resource's value was written: a document, and the path of the resource within it. */
export interface Origin {
  doc: YamlDoc;
  /** Path of the resource's root inside the document ([] for a whole document; ['spec','flows',2] in a template). */
  base: Path;
}

/** A template instance: which template produced a resource, and the `uses:` entry that asked for it. */
export interface TemplateUse {
  template: string;
  version: number;
  /** The `uses` entry in customer.yaml. */
  usedAt: Origin;
  params: Record<string, unknown>;
}

export interface Resource {
  kind: Kind;
  name: string;
  /** The customer folder it belongs to; undefined for workspace-level resources (rsync.yaml, templates). */
  customer?: string;
  apiVersion: string;
  metadata: Record<string, unknown> & { name: string; labels?: Record<string, string> };
  /** The resolved spec: template parameters substituted, the chosen environment's overlay merged in. */
  spec: Record<string, unknown>;
  /** The file the resource's own fields were written in. */
  origin: Origin;
  /** When produced by a template: the instance. `origin` then points into the template file. */
  template?: TemplateUse;
  /** The `environments.<env>` node merged into spec, when one applied. */
  overlay?: Origin;
  /** The workspace-relative folder of the file that declares the resource (paths like `mapping:` resolve from it). */
  dir: string;
}

export interface CustomerModel {
  name: string;
  /** integrations/<name> */
  folder: string;
  resource?: Resource;
  connections: Map<string, Resource>;
  flows: Map<string, Resource>;
  policies: Map<string, Resource>;
  slas: Map<string, Resource>;
  mappingTests: Resource[];
}

export interface Workspace {
  source: WorkspaceSource;
  /** The environment whose overlays were applied, if any. */
  env?: string;
  /** Every YAML/JSONata file loaded, by workspace-relative path. */
  files: Map<string, string>;
  /** Per-file results kept between commands (parsed YAML, JSONata facts), when the command keeps them. */
  content?: ContentCache;
  settings?: Resource;
  /** Partner-wide Policy and SLA documents (in rsync.yaml). */
  policies: Map<string, Resource>;
  slas: Map<string, Resource>;
  /** Templates by `name@version`. */
  templates: Map<string, Resource>;
  /** Mapping tests that live in templates/. */
  templateTests: Resource[];
  customers: Map<string, CustomerModel>;
  diagnostics: Diagnostic[];
}

/** `<customer>/<kind>/<name>`, lower-case kind, with `<env>/` in front when an environment is chosen. */
export function addressOf(r: Pick<Resource, 'kind' | 'name' | 'customer'>, env?: string): string {
  const scope = r.customer ?? (r.kind === 'Template' ? 'templates' : 'workspace');
  const a = `${scope}/${r.kind.toLowerCase()}/${r.name}`;
  return env ? `${env}/${a}` : a;
}

/** Every resource of the workspace, in a stable order. */
export function allResources(ws: Workspace): Resource[] {
  const out: Resource[] = [];
  if (ws.settings) out.push(ws.settings);
  out.push(...ws.policies.values(), ...ws.slas.values(), ...ws.templates.values(), ...ws.templateTests);
  for (const c of ws.customers.values()) {
    if (c.resource) out.push(c.resource);
    out.push(
      ...c.connections.values(),
      ...c.flows.values(),
      ...c.policies.values(),
      ...c.slas.values(),
      ...c.mappingTests,
    );
  }
  return out;
}

/** A range for a problem at `path` (relative to the resource) — see load/locate.ts for the implementation. */
export type Locate = (r: Resource, path: Path, key?: boolean) => SourceRange;
