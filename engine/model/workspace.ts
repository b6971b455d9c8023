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
import type {
  AlertSpec,
  ReconciliationSpec,
  ConnectionSpec,
  CustomerSpec,
  FlowSpec,
  MappingTestSpec,
  PolicySpec,
  RolloutSpec,
  SLASpec,
  TemplateSpec,
  WorkspaceSpec,
} from './generated/index.js';

export const KINDS = [
  'Workspace',
  'Customer',
  'Connection',
  'Flow',
  'Policy',
  'SLA',
  'Alert',
  'Reconciliation',
  'Rollout',
  'Template',
  'MappingTest',
] as const;
export type Kind = (typeof KINDS)[number];

export function isKind(v: unknown): v is Kind {
  return (KINDS as readonly unknown[]).includes(v);
}

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

/** The spec of each kind, as its schema in schemas/ declares it (the generated types). */
export interface SpecOf {
  Workspace: WorkspaceSpec;
  Customer: CustomerSpec;
  Connection: ConnectionSpec;
  Flow: FlowSpec;
  Policy: PolicySpec;
  SLA: SLASpec;
  Alert: AlertSpec;
  Reconciliation: ReconciliationSpec;
  Rollout: RolloutSpec;
  Template: TemplateSpec;
  MappingTest: MappingTestSpec;
}

/**
 * A spec as loaded: the fields its schema declares, each of unknown value. The loaded workspace is what was written,
 * schema errors included (the validator and the mapping tests run on it), so a field is read through the guards
 * of model/guards.ts; a misspelt field name is still a type error.
 */
export type Unchecked<S> = { [P in KeysOf<S>]?: unknown };
/** Every key of every member of a union (a trigger's event, schedule and manual). */
type KeysOf<S> = S extends unknown ? keyof S : never;

/** A resource of kind K. `Resource` alone is any kind, discriminated by `kind`. */
export type Resource<K extends Kind = Kind> = { [P in K]: ResourceOf<P> }[K];

export interface ResourceOf<K extends Kind> {
  kind: K;
  name: string;
  /** The customer folder it belongs to; undefined for workspace-level resources (rsync.yaml, templates). */
  customer?: string;
  apiVersion: string;
  metadata: Record<string, unknown> & { name: string; labels?: Record<string, string> };
  /** The resolved spec: template parameters substituted, the chosen environment's overlay merged in. */
  spec: Unchecked<SpecOf[K]>;
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
  resource?: Resource<'Customer'>;
  connections: Map<string, Resource<'Connection'>>;
  flows: Map<string, Resource<'Flow'>>;
  policies: Map<string, Resource<'Policy'>>;
  slas: Map<string, Resource<'SLA'>>;
  alerts: Map<string, Resource<'Alert'>>;
  reconciliations: Map<string, Resource<'Reconciliation'>>;
  mappingTests: Resource<'MappingTest'>[];
}

export interface Workspace {
  source: WorkspaceSource;
  /** The environment whose overlays were applied, if any. */
  env?: string;
  /** Every YAML/JSONata file loaded, by workspace-relative path. */
  files: Map<string, string>;
  /** Per-file results kept between commands (parsed YAML, JSONata facts), when the command keeps them. */
  content?: ContentCache;
  settings?: Resource<'Workspace'>;
  /** Partner-wide Policy, SLA and Alert documents (in rsync.yaml). */
  policies: Map<string, Resource<'Policy'>>;
  slas: Map<string, Resource<'SLA'>>;
  alerts: Map<string, Resource<'Alert'>>;
  /** Rollouts (partner-wide: in rsync.yaml or rollouts.yaml), by name. */
  rollouts: Map<string, Resource<'Rollout'>>;
  /** Templates by `name@version`. */
  templates: Map<string, Resource<'Template'>>;
  /** Mapping tests that live in templates/. */
  templateTests: Resource<'MappingTest'>[];
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
  out.push(
    ...ws.policies.values(),
    ...ws.slas.values(),
    ...ws.alerts.values(),
    ...ws.rollouts.values(),
    ...ws.templates.values(),
    ...ws.templateTests,
  );
  for (const c of ws.customers.values()) {
    if (c.resource) out.push(c.resource);
    out.push(
      ...c.connections.values(),
      ...c.flows.values(),
      ...c.policies.values(),
      ...c.slas.values(),
      ...c.alerts.values(),
      ...c.reconciliations.values(),
      ...c.mappingTests,
    );
  }
  return out;
}

/** Every MappingTest: the customers' and the templates'. */
export function mappingTests(ws: Workspace): Resource<'MappingTest'>[] {
  return allResources(ws).filter((r): r is Resource<'MappingTest'> => r.kind === 'MappingTest');
}

/** A range for a problem at `path` (relative to the resource) — see load/locate.ts for the implementation. */
export type Locate = (r: Resource, path: Path, key?: boolean) => SourceRange;
