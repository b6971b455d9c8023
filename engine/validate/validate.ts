/**
 * The validator: every problem of a loaded workspace, in one pass, as diagnostics.
 *
 *   schema checks   each resource against its kind's JSON Schema, connection settings against their connector
 *   references      connections, policies, SLAs, mappings, templates; nothing of one customer from another
 *   capabilities    the source can read the stream, the target can write the entity from that canonical entity,
 *                   the event exists and carries that stream
 *   mappings        JSONata compiles (errors at the line and column inside the file), no $now()/$random()
 *   schedules       cron and time zone; an SLA's freshness the schedule can meet
 *   governance      source-of-truth ownership, PII kept from forbidden targets, no literal secrets
 *   storable text   no NUL character or lone surrogate, which PostgreSQL cannot store (apply would fail on it)
 *
 * It never throws for a user's mistake and never stops at the first problem.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { sortDiagnostics } from '../diagnostics/diagnostic.js';
import { connectorSpec, CONNECTORS } from '../connectors/catalog.js';
import type { ConnectorSpec } from '../connectors/spec.js';
import { suggest } from '../load/loader.js';
import { locate, locateInScalar, templateNote } from '../load/locate.js';
import { checkOverlayNames } from '../load/overlays.js';
import { fileStart, type Path } from '../load/yaml.js';
import type { ContentCache } from '../load/content-cache.js';
import {
  compile,
  lineColumn,
  nondeterministicCalls,
  readsInput,
  outputFields,
  type Compiled,
  type JsonataProblem,
} from '../jsonata/index.js';
import { DEFAULTS } from '../model/generated/defaults.js';
import type { FlowSource, FlowTarget, FlowTrigger, PiiPolicy, SecretRef } from '../model/generated/index.js';
import { fields, named, strings, text, triggerEvents } from '../model/guards.js';
import {
  lookupPolicy,
  lookupSla,
  policyNameOf,
  resolveRelative,
  scheduleOf,
  slaNameOf,
  systemNames,
  timezoneOf,
  workspaceDefaults,
} from '../model/resolve.js';
import { declaredSecretsFolder, parseSecretRef, relativeInside, secretFileProblem } from '../model/secret-ref.js';
import {
  addressOf,
  allResources,
  type CustomerModel,
  mappingTests,
  type Resource,
  type Workspace,
} from '../model/workspace.js';
import { isObject } from '../util/merge.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { describeUnstorable, dottedPath, unstorableIndex, unstorableTexts } from '../util/text.js';
import { checkReconciliation } from './reconciliation.js';
import { mappingLineage, piiLineageProblems } from './pii-lineage.js';
import { checkCron, isValidTimeZone } from './schedule.js';
import { kindValidator, schemaProblems, validatorForSchema } from './schema.js';
import { checkSecretScopes } from './secret-scope.js';
import { checkRollout } from './rollout.js';
import { findLiteralSecrets, findSecretRefs } from './secrets.js';
import { limitProblems } from './limits.js';

export interface ValidationResult {
  diagnostics: Diagnostic[];
  /** Compiled mappings by workspace-relative path, for the mapping tests (each compiled on first use of its `expr`). */
  mappings: Map<string, Compiled>;
}

class Reporter {
  readonly diags: Diagnostic[] = [];
  private readonly seen = new Map<string, Diagnostic>();
  private readonly repeats = new Map<Diagnostic, number>();
  constructor(private readonly env?: string) {}

  /** A problem at `path` of resource `r`. Template problems repeat per customer; they are reported once, counted. */
  at(r: Resource, path: Path, d: Omit<Diagnostic, 'range' | 'address'>, key = false): void {
    this.push(
      { ...d, detail: d.detail + templateNote(r), range: locate(r, path, key), address: addressOf(r, this.env) },
      r.template !== undefined,
    );
  }

  /** A problem at character `index` of the string at `path` of resource `r` (not produced by a template). */
  inScalar(r: Resource, path: Path, index: number, d: Omit<Diagnostic, 'range' | 'address'>): void {
    this.push({ ...d, range: locateInScalar(r, path, index), address: addressOf(r, this.env) });
  }

  /**
   * Add a diagnostic once. `counted`: a repeat is the same problem in another resource (a template's flow in each
   * customer that uses it) and is counted in the detail; any other repeat (two YAML errors at one position) is dropped.
   */
  push(d: Diagnostic, counted = false): void {
    const k = `${d.range?.file}:${d.range?.start.line}:${d.range?.start.column}|${d.code}|${d.summary}`;
    const first = this.seen.get(k);
    if (first) {
      if (counted) this.repeats.set(first, (this.repeats.get(first) ?? 1) + 1);
      return;
    }
    // finish() edits the detail: never the loader's own diagnostic. A value a message quotes may be megabytes long
    // (a mistyped kind, a connector name): the message keeps its start and end.
    const copy = { ...d, summary: clip(d.summary, MAX_SUMMARY), detail: clip(d.detail, MAX_DETAIL) };
    this.seen.set(k, copy);
    this.diags.push(copy);
  }

  finish(): Diagnostic[] {
    for (const [d, n] of this.repeats) d.detail += ` (reported for ${n} resources)`;
    return sortDiagnostics(this.diags);
  }
}

const MAX_SUMMARY = 300;
const MAX_DETAIL = 2000;
/** Runs of more than this many characters without a space are a value, not words: they are shortened. */
const MAX_WORD = 120;

/** A message with any over-long value in it shortened to its start and end, and at most `max` characters. */
function clip(text: string, max: number): string {
  if (text.length <= MAX_WORD) return text;
  const t = text.replace(new RegExp(`\\S{${MAX_WORD + 1},}`, 'g'), (w) => `${w.slice(0, 60)}…${w.slice(-20)}`);
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

/** `onCustomer` is told after each customer is checked: the CLI's counter on a terminal. */
export function validateWorkspace(ws: Workspace, onCustomer?: (done: number, total: number) => void): ValidationResult {
  const rep = new Reporter(ws.env);
  for (const d of [...ws.diagnostics, ...checkOverlayNames(ws)])
    rep.push(d, d.range?.file.startsWith('templates/') === true);
  const mappings = compileMappings(ws, rep);

  const secretsFolder = declaredSecretsFolder(ws);
  for (const r of allResources(ws)) {
    checkSchema(r, rep);
    checkSecrets(r, rep);
    checkSecretFiles(r, secretsFolder, rep);
    checkStorableText(r, rep);
  }
  for (const f of checkSecretScopes(ws)) rep.at(f.resource, f.path, f.diagnostic);
  checkWorkspaceDefaults(ws, rep);
  checkSyncWindows(ws, rep);
  checkEnvironments(ws, rep);
  checkConsole(ws, rep);
  for (const a of ws.alerts.values()) checkAlert(ws, a, undefined, rep);
  for (const r of ws.rollouts.values()) checkRollout(ws, r, (...a) => rep.at(...a));
  let checked = 0;
  for (const c of ws.customers.values()) {
    checkCustomer(ws, c, rep);
    for (const p of limitProblems(ws, c)) rep.at(p.r, p.path, p.d);
    for (const a of c.alerts.values()) checkAlert(ws, a, c, rep);
    for (const r of c.reconciliations.values()) checkReconciliation(c, r, rep);
    for (const conn of c.connections.values()) checkConnection(conn, rep);
    for (const flow of c.flows.values()) checkFlow(ws, c, flow, mappings.facts, rep);
    for (const t of c.mappingTests) checkMappingTest(ws, t, rep);
    onCustomer?.(++checked, ws.customers.size);
  }
  for (const t of ws.templateTests) checkMappingTest(ws, t, rep);
  checkMappingsTested(ws, rep);
  ws.content?.save(); // what this validation learnt of new files, for the next command
  return { diagnostics: rep.finish(), mappings: mappings.compiled };
}

// ---------------------------------------------------------------------------------------------------------------

/** What validation needs of a mapping, all facts of its text alone: kept in the content cache by that text. */
type MappingFacts = { ok: true; fields: string[] | null; calls: string[] } | { ok: false; problem: JsonataProblem };

interface Mappings {
  /** For the mapping tests: compiled on first use of `expr`, so a cached validation compiles nothing. */
  compiled: Map<string, Compiled>;
  facts: Map<string, MappingFacts>;
}

function compileMappings(ws: Workspace, rep: Reporter): Mappings {
  const out: Mappings = { compiled: new Map(), facts: new Map() };
  for (const [file, text] of ws.files) {
    if (!file.endsWith('.jsonata')) continue;
    const bad = unstorableIndex(text);
    if (bad >= 0) {
      // Apply stores the mapping's text: PostgreSQL's text cannot hold it.
      const d = unstorableDiagnostic(describeUnstorable(text, bad), 'the mapping');
      rep.push({ ...d, range: { file, start: lineColumn(text, bad) } });
    }
    const facts = mappingFacts(text, ws.content);
    out.facts.set(file, facts);
    out.compiled.set(file, facts.ok ? compiledOnUse(text) : facts);
    if (!facts.ok) {
      rep.push({
        severity: 'error',
        code: 'jsonata-syntax',
        summary: 'JSONata does not compile',
        detail: `${facts.problem.message} (${facts.problem.code}). Fix the expression at this position; try it at try.jsonata.org with a fixture as input.`,
        range: { file, start: lineColumn(text, facts.problem.index) },
      });
    } else if (facts.calls.length) {
      rep.push({
        severity: 'warning',
        code: 'mapping-nondeterministic',
        summary: `Mapping calls ${facts.calls.join(', ')}`,
        detail:
          'A mapping must give the same output for the same input, or re-delivery writes again. Take times from the record instead.',
        range: fileStart(file),
      });
    }
  }
  return out;
}

function mappingFacts(text: string, cache: ContentCache | undefined): MappingFacts {
  const key = cache?.key(text);
  const hit = key === undefined ? undefined : cache!.get('jsonata', key);
  if (isMappingFacts(hit)) return hit;
  const c = compile(text);
  const facts: MappingFacts = c.ok
    ? { ok: true, fields: outputFields(c.expr) ?? null, calls: nondeterministicCalls(c.expr) }
    : { ok: false, problem: c.problem };
  if (key !== undefined) cache!.put('jsonata', key, facts);
  return facts;
}

function isMappingFacts(v: unknown): v is MappingFacts {
  if (!isObject(v)) return false;
  if (v.ok === true) return (v.fields === null || Array.isArray(v.fields)) && Array.isArray(v.calls);
  const p = v.problem;
  return (
    v.ok === false &&
    isObject(p) &&
    typeof p.index === 'number' &&
    text(p.code) !== undefined &&
    text(p.message) !== undefined
  );
}

/** A mapping known to compile, compiled when a mapping test first evaluates it. */
function compiledOnUse(text: string): Compiled {
  return {
    ok: true,
    get expr() {
      const c = compile(text);
      if (!c.ok) throw new Error(`mapping no longer compiles: ${c.problem.message}`); // facts from another jsonata: the build fingerprint prevents it
      return c.expr;
    },
  };
}

function checkSchema(r: Resource, rep: Reporter): void {
  const value: Record<string, unknown> = { apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec };
  const raw = r.origin.doc.value;
  if (!r.template && isObject(raw)) {
    // Validate what was written (unknown top-level fields included), with the overlay's result as the spec.
    Object.assign(value, raw, { spec: r.spec });
    if (!('apiVersion' in raw)) delete value.apiVersion;
    if (!('metadata' in raw)) delete value.metadata;
    if (!('spec' in raw)) delete value.spec;
  }
  const validate = kindValidator(r.kind);
  if (validate(value)) return;
  // A secret written as a value where a reference belongs is reported once, as secret-literal (checkSecrets).
  const literal = new Set(findLiteralSecrets(raw).map((f) => f.path.join('\u0000')));
  for (const p of schemaProblems(validate.errors)) {
    if (r.kind === 'Connection' && p.path[0] === 'spec' && p.path[1] === 'settings') continue; // the connector's schema decides
    if ((p.code === 'schema-type' || p.code === 'schema-choice') && literal.has(p.path.join('\u0000'))) continue;
    rep.at(r, p.path, { severity: 'error', code: p.code, summary: p.summary, detail: p.detail }, p.key);
  }
}

function checkSecrets(r: Resource, rep: Reporter): void {
  const raw = r.template ? { spec: r.spec } : r.origin.doc.value;
  // A connector's own secret settings holding a literal are reported (with a better message) by checkConnection.
  const literals = r.kind === 'Connection' ? literalSecretSettings(r) : new Set<string>();
  const overlayEnv = r.overlay ? r.overlay.base[r.overlay.base.length - 1] : undefined;
  const own = (p: (string | number)[]) => {
    const rel =
      p[0] === 'spec'
        ? p.slice(1)
        : overlayEnv !== undefined && p[0] === 'environments' && p[1] === overlayEnv
          ? p.slice(2)
          : undefined;
    return rel !== undefined && rel[0] === 'settings' && literals.has(rel.slice(1).join('.'));
  };
  for (const f of findLiteralSecrets(raw)) {
    if (own(f.path)) continue;
    rep.at(r, f.path, {
      severity: 'error',
      code: 'secret-literal',
      summary: `Literal secret: ${f.what}`,
      detail:
        'Secrets are referenced, never written: replace the value with `{ secretRef: "env:NAME" }` (or "file:NAME" in the secrets folder), set NAME where rsync runs, and rotate this credential: it is in Git history now.',
    });
  }
}

/**
 * `file:` references name a file inside the secrets folder rsync.yaml declares, by a relative path that cannot leave
 * it; with no folder declared there are none. (Where a symbolic link in the folder leads is seen only where the file
 * is opened, on the worker's machine: engine/connectors/secrets.ts refuses it there.)
 */
/**
 * What an Alert watches must exist: a partner-wide alert's `customers`, and the `flows` it names (in its customer, or
 * in at least one of the customers it watches). A customer's alert watches only that customer: `customers` is refused.
 */
function checkAlert(ws: Workspace, a: Resource<'Alert'>, own: CustomerModel | undefined, rep: Reporter): void {
  const listed = (field: 'customers' | 'flows') => {
    const v = a.spec[field];
    return Array.isArray(v) ? v.map((x, i) => ({ name: x, i })).filter((x) => typeof x.name === 'string') : [];
  };
  const customers = listed('customers') as { name: string; i: number }[];
  if (own && customers.length) {
    rep.at(
      a,
      ['spec', 'customers'],
      {
        severity: 'error',
        code: 'schema-invalid',
        summary: `A customer's alert cannot name customers`,
        detail: `This alert is ${own.name}'s and watches only its flows. Remove \`customers:\`, or move the alert to rsync.yaml to watch several customers.`,
      },
      true,
    );
  }
  for (const { name, i } of own ? [] : customers) {
    if (ws.customers.has(name)) continue;
    rep.at(a, ['spec', 'customers', i], {
      severity: 'error',
      code: 'ref-unknown',
      summary: `Unknown customer "${name}"`,
      detail: `The workspace has the customers ${[...ws.customers.keys()].join(', ') || '(none)'}.${suggest(name, ws.customers.keys())}`,
    });
  }
  const scope = own
    ? [own]
    : customers.length
      ? customers.map((c) => ws.customers.get(c.name)).filter((c): c is CustomerModel => c !== undefined)
      : [...ws.customers.values()];
  const flows = new Set(scope.flatMap((c) => [...c.flows.keys()]));
  for (const { name, i } of listed('flows') as { name: string; i: number }[]) {
    if (flows.has(name)) continue;
    rep.at(a, ['spec', 'flows', i], {
      severity: 'error',
      code: 'ref-unknown',
      summary: `Unknown flow "${name}"`,
      detail: `No customer this alert watches (${scope.map((c) => c.name).join(', ') || 'none'}) has a flow of that name.${suggest(name, flows)}`,
    });
  }
}

function checkSecretFiles(r: Resource, folder: string | undefined, rep: Reporter): void {
  const raw = r.template ? { spec: r.spec } : r.origin.doc.value;
  for (const { path, ref } of findSecretRefs(raw)) {
    const parsed = parseSecretRef(ref);
    if (parsed?.kind !== 'file') continue; // env:NAME is fine; any other form is the schema's to report
    const at = [...path, 'secretRef'];
    if (folder === undefined) {
      rep.at(r, at, {
        severity: 'error',
        code: 'secret-file-path',
        summary: `Secret "${ref}" is a file, but rsync.yaml declares no secrets folder`,
        detail:
          'file: references are read only inside a declared folder. Declare where the worker machines keep secret files in rsync.yaml (`spec: { secrets: { folder: /run/secrets/acme } }`) and name the file relative to it (`file:shopify-token`), or use `{ secretRef: "env:NAME" }`.',
      });
      continue;
    }
    const problem = secretFileProblem(parsed.path);
    if (problem === undefined) continue;
    const rel = parsed.path.startsWith('/') ? relativeInside(folder, parsed.path) : undefined;
    rep.at(r, at, {
      severity: 'error',
      code: 'secret-file-path',
      summary: `Secret "${ref}" ${problem}: it must name a file inside the secrets folder`,
      detail: rel
        ? `A file: reference is relative to the secrets folder ${folder} (spec.secrets.folder in rsync.yaml): write \`file:${rel}\`.`
        : `A file: reference is a path relative to the secrets folder ${folder} (spec.secrets.folder in rsync.yaml), and nothing outside it is read: put the file in that folder and write its relative path, e.g. \`file:northwind/shopify-token\`.`,
    });
  }
}

/** The diagnostic of a character PostgreSQL cannot store (util/text.ts), found in `where`. */
function unstorableDiagnostic(what: string, where: string): Omit<Diagnostic, 'range' | 'address'> {
  return {
    severity: 'error',
    code: 'text-unstorable',
    summary: `${what[0].toUpperCase()}${what.slice(1)} in ${where}`,
    detail:
      'PostgreSQL cannot store it, so apply would fail on it. Remove it: in a double-quoted YAML string a NUL is written \\0, \\x00 or \\u0000, and half of a surrogate pair is a \\uD800–\\uDFFF escape without its other half (write the character itself instead).',
  };
}

/**
 * Keys and strings PostgreSQL cannot store (a NUL, half of a surrogate pair): validation reports them, at their
 * file:line:col, so that apply never fails on them. MappingTests are never stored, so their inputs may hold them.
 */
function checkStorableText(r: Resource, rep: Reporter): void {
  if (r.kind === 'MappingTest') return;
  const raw = r.template ? { spec: r.spec } : r.origin.doc.value;
  for (const t of unstorableTexts(raw)) {
    const d = unstorableDiagnostic(t.what, `${t.key ? 'the key' : 'the value of'} ${dottedPath(t.path)}`);
    if (r.template || t.key) rep.at(r, t.path, d, t.key);
    else rep.inScalar(r, t.path, t.index, d);
  }
}

function checkWorkspaceDefaults(ws: Workspace, rep: Reporter): void {
  const s = ws.settings;
  if (!s) return;
  const d = workspaceDefaults(ws);
  const policy = text(d.policy);
  if (policy !== undefined && !ws.policies.has(policy)) {
    const everywhere = [...ws.customers.values()].every((c) => c.policies.has(policy));
    if (!everywhere) {
      rep.at(s, ['spec', 'defaults', 'policy'], {
        severity: 'error',
        code: 'ref-unknown',
        summary: `Default policy "${policy}" is not declared`,
        detail: `Declare a Policy named ${policy} in rsync.yaml (after ---), or name one that exists: ${[...ws.policies.keys()].join(', ') || '(none)'}.${suggest(policy, ws.policies.keys())}`,
      });
    }
  }
  const sla = text(d.sla);
  if (sla !== undefined && !ws.slas.has(sla)) {
    const everywhere = [...ws.customers.values()].every((c) => c.slas.has(sla));
    if (!everywhere) {
      rep.at(s, ['spec', 'defaults', 'sla'], {
        severity: 'error',
        code: 'ref-unknown',
        summary: `Default SLA "${sla}" is not declared`,
        detail: `Declare an SLA named ${sla} in rsync.yaml, or name one that exists: ${[...ws.slas.keys()].join(', ') || '(none)'}.${suggest(sla, ws.slas.keys())}`,
      });
    }
  }
  const timezone = text(d.timezone);
  if (timezone !== undefined && !isValidTimeZone(timezone)) {
    rep.at(s, ['spec', 'defaults', 'timezone'], {
      severity: 'error',
      code: 'timezone-invalid',
      summary: `Unknown time zone "${timezone}"`,
      detail: 'Use an IANA time zone name such as America/Chicago, Europe/Berlin or UTC.',
    });
  }
}

/** Each environment's sync windows (the controller's): a cron that parses, a known time zone. */
function checkSyncWindows(ws: Workspace, rep: Reporter): void {
  const s = ws.settings;
  const envs = s && isObject(s.spec.environments) ? s.spec.environments : {};
  for (const [env, e] of Object.entries(envs)) {
    const windows = isObject(e) && Array.isArray(e.syncWindows) ? e.syncWindows : [];
    windows.forEach((w: unknown, i: number) => {
      if (!isObject(w)) return;
      const at = ['spec', 'environments', env, 'syncWindows', i];
      const zone = text(w.timezone);
      if (zone !== undefined && !isValidTimeZone(zone))
        rep.at(s!, [...at, 'timezone'], {
          severity: 'error',
          code: 'timezone-invalid',
          summary: `Unknown time zone "${zone}"`,
          detail: 'Use an IANA time zone name such as America/Chicago, Europe/Berlin or UTC.',
        });
      const cron = text(w.schedule);
      const check = cron === undefined ? undefined : checkCron(cron, 'UTC');
      if (check && !check.ok)
        rep.at(s!, [...at, 'schedule'], {
          severity: 'error',
          code: 'cron-invalid',
          summary: `Invalid cron expression "${cron}" for a sync window of ${env}`,
          detail: `${check.message}. Example: "0 22 * * *" opens the window at 22:00 every day.`,
        });
    });
  }
}

/** `approvals` on an environment that does not require approval does nothing: say so, rather than let it mislead. */
function checkEnvironments(ws: Workspace, rep: Reporter): void {
  const s = ws.settings;
  const envs = s?.spec.environments as Record<string, unknown> | undefined;
  if (!s || !envs || typeof envs !== 'object') return;
  for (const [name, e] of Object.entries(envs)) {
    if (
      !e ||
      typeof e !== 'object' ||
      !('approvals' in e) ||
      (e as { requiresApproval?: unknown }).requiresApproval === true
    )
      continue;
    rep.at(s, ['spec', 'environments', name, 'approvals'], {
      severity: 'warning',
      code: 'approvals-ignored',
      summary: `Environment "${name}" sets approvals but does not require approval`,
      detail: `Without requiresApproval: true, ${name}'s plans apply without approvals and this setting does nothing. Add requiresApproval: true to environments.${name}, or remove approvals.`,
    });
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The console's sign-in sends codes and tokens to its issuer and redirect URL: https, or http on this machine only. */
function checkConsole(ws: Workspace, rep: Reporter): void {
  const s = ws.settings;
  const oidc = (s?.spec as { console?: { oidc?: Record<string, unknown> } } | undefined)?.console?.oidc;
  if (!s || !oidc || typeof oidc !== 'object') return;
  for (const field of ['issuer', 'redirectUrl']) {
    const v = oidc[field];
    if (typeof v !== 'string') continue;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      continue; // the schema's pattern reports it
    }
    if (u.protocol === 'http:' && !LOOPBACK_HOSTS.has(u.hostname))
      rep.at(s, ['spec', 'console', 'oidc', field], {
        severity: 'error',
        code: 'oidc-insecure',
        summary: `console.oidc.${field} is http:// on another machine`,
        detail: `Sign-in sends authorization codes and tokens over it: use https://${v.slice('http://'.length)} (http:// is only for a test provider on 127.0.0.1 or localhost).`,
      });
  }
}

/** Another customer that has a resource by that name (a cross-customer reference), if any. */
function ownerElsewhere(
  ws: Workspace,
  c: CustomerModel,
  pick: (o: CustomerModel) => Map<string, Resource>,
  name: string,
): string | undefined {
  for (const o of ws.customers.values()) if (o !== c && pick(o).has(name)) return o.name;
  return undefined;
}

function crossCustomerName(name: string): string | undefined {
  const m = /^(?:\.\.\/)*([a-z][a-z0-9-]*)\/(.+)$/.exec(name);
  return m ? m[1] : undefined;
}

/** A reference a customer or flow makes by name to a policy or an SLA: the customer's own, or a partner-wide one. */
interface SharedRefKind {
  /** As a summary starts: `Policy "x"`, `SLA "x"`. */
  title: string;
  /** Within a sentence: `Unknown policy "x"`, `Declare the SLA in …`. */
  noun: string;
  /** In `Known …:`. */
  plural: string;
  lookup: (ws: Workspace, customer: string, name: string) => Resource | undefined;
  own: (c: CustomerModel) => Map<string, Resource>;
  partnerWide: (ws: Workspace) => Map<string, Resource>;
}

const POLICY_REF: SharedRefKind = {
  title: 'Policy',
  noun: 'policy',
  plural: 'policies',
  lookup: lookupPolicy,
  own: (c) => c.policies,
  partnerWide: (ws) => ws.policies,
};

const SLA_REF: SharedRefKind = {
  title: 'SLA',
  noun: 'SLA',
  plural: 'SLAs',
  lookup: lookupSla,
  own: (c) => c.slas,
  partnerWide: (ws) => ws.slas,
};

function checkSharedRef(
  kind: SharedRefKind,
  ws: Workspace,
  c: CustomerModel,
  r: Resource,
  path: Path,
  name: string,
  rep: Reporter,
): void {
  if (kind.lookup(ws, c.name, name)) return;
  const elsewhere = crossCustomerName(name) ?? ownerElsewhere(ws, c, kind.own, name);
  if (elsewhere) {
    rep.at(r, path, {
      severity: 'error',
      code: 'cross-customer-ref',
      summary: `${kind.title} "${name}" belongs to customer ${elsewhere}`,
      detail: `Nothing of one customer may reference another's. Declare the ${kind.noun} in ${c.folder}/, or make it partner-wide in rsync.yaml.`,
    });
    return;
  }
  const known = [...kind.own(c).keys(), ...kind.partnerWide(ws).keys()];
  rep.at(r, path, {
    severity: 'error',
    code: 'ref-unknown',
    summary: `Unknown ${kind.noun} "${name}"`,
    detail: `Known ${kind.plural}: ${known.join(', ') || '(none)'}.${suggest(name, known)} Declare it in ${c.folder}/ or in rsync.yaml.`,
  });
}

function checkCustomer(ws: Workspace, c: CustomerModel, rep: Reporter): void {
  const r = c.resource;
  if (!r) return;
  const policy = text(r.spec.policy);
  if (policy !== undefined) checkSharedRef(POLICY_REF, ws, c, r, ['spec', 'policy'], policy, rep);
  const sla = text(r.spec.sla);
  if (sla !== undefined) checkSharedRef(SLA_REF, ws, c, r, ['spec', 'sla'], sla, rep);
  const timezone = text(r.spec.timezone);
  if (timezone !== undefined && !isValidTimeZone(timezone)) {
    rep.at(r, ['spec', 'timezone'], {
      severity: 'error',
      code: 'timezone-invalid',
      summary: `Unknown time zone "${timezone}"`,
      detail: 'Use an IANA time zone name such as America/Chicago, Europe/Berlin or UTC.',
    });
  }
}

// --- connections -------------------------------------------------------------------------------------------------

function checkConnection(conn: Resource<'Connection'>, rep: Reporter): void {
  const type = text(conn.spec.connector);
  if (type === undefined) return; // schema-required reports it
  const spec = connectorSpec(type);
  if (!spec) {
    rep.at(conn, ['spec', 'connector'], {
      severity: 'error',
      code: 'connector-unknown',
      summary: `Unknown connector "${type}"`,
      detail: `Available connectors: ${Object.keys(CONNECTORS).join(', ')}.${suggest(type, Object.keys(CONNECTORS))}`,
    });
    return;
  }
  const settings = isObject(conn.spec.settings) ? conn.spec.settings : {};
  // Secret settings first, at any depth: a literal there is a secret-literal error, not a type error.
  const literals = literalSecretSettings(conn);
  for (const name of literals) {
    const path = name.split('.');
    const v = path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), settings);
    rep.at(conn, ['spec', 'settings', ...path], {
      severity: 'error',
      code: 'secret-literal',
      summary: `Literal secret in settings.${name}`,
      detail: `The ${type} connector marks ${name} as secret: write \`${path[path.length - 1]}: { secretRef: "env:NAME" }\` (or "file:NAME" in the secrets folder) and keep the value outside Git.${named(v) ? ' Rotate this credential: it is in Git history now.' : ''}`,
    });
  }
  const validate = validatorForSchema(spec.settings);
  if (validate(settings)) {
    // What the connector itself says of settings that fit (an API version past its vendor's support).
    for (const w of spec.warnings?.(settings, new Date()) ?? [])
      rep.at(conn, ['spec', 'settings', ...w.path], {
        severity: 'warning',
        code: 'connection-warning',
        summary: w.summary,
        detail: w.detail,
      });
    return;
  }
  for (const p of schemaProblems(validate.errors, ['spec', 'settings'])) {
    // A literal secret is reported above, and a schema message would print it ("It is the string …").
    const under = p.path.slice(2).join('.');
    if ([...literals].some((l) => under === l || under.startsWith(`${l}.`))) continue;
    const detail =
      p.code === 'schema-unknown-field'
        ? p.detail.replace('Remove or rename it.', `The ${type} connector has no such setting; remove or rename it.`)
        : p.detail;
    rep.at(conn, p.path, { severity: 'error', code: 'connection-settings', summary: p.summary, detail }, p.key);
  }
}

/**
 * The settings of a connection (dotted paths, e.g. `accessToken`, `auth.password`) that its connector marks
 * `x-secret` and that hold something other than `{ secretRef: "…" }`.
 */
function literalSecretSettings(conn: Resource<'Connection'>): Set<string> {
  const out = new Set<string>();
  const type = text(conn.spec.connector);
  const spec = type === undefined ? undefined : connectorSpec(type);
  if (!spec) return out;
  const walk = (schema: Record<string, unknown>, value: Record<string, unknown>, at: string[]) => {
    const props = isObject(schema.properties) ? schema.properties : {};
    for (const [name, prop] of Object.entries(props)) {
      const v = value[name];
      if (!isObject(prop) || v === undefined) continue;
      if (prop['x-secret'] === true) {
        if (text(fields<SecretRef>(v).secretRef) === undefined) out.add([...at, name].join('.'));
      } else if (isObject(v)) walk(prop, v, [...at, name]);
    }
  };
  walk(spec.settings as unknown as Record<string, unknown>, isObject(conn.spec.settings) ? conn.spec.settings : {}, []);
  return out;
}

/** What a flow's source reads and its target writes, by side: the field that names it and how messages say it. */
const CAPABILITY = {
  source: { field: 'stream', code: 'source-cannot-read', verb: 'read', declared: 'streams', instead: 'target' },
  target: { field: 'entity', code: 'target-cannot-write', verb: 'write', declared: 'entities', instead: 'source' },
} as const;

/** A flow names a stream its source cannot read, or an entity its target cannot write (`names`: what it can). */
function cannotDo(
  rep: Reporter,
  flow: Resource<'Flow'>,
  side: keyof typeof CAPABILITY,
  conn: Resource<'Connection'>,
  spec: ConnectorSpec,
  name: string,
  names: string[],
): void {
  const k = CAPABILITY[side];
  rep.at(flow, ['spec', side, k.field], {
    severity: 'error',
    code: k.code,
    summary: `${conn.name} (${spec.name}) cannot ${k.verb} "${name}"`,
    detail: names.length
      ? `The ${spec.name} connector ${k.verb}s: ${names.join(', ')}.${suggest(name, names)}`
      : spec.dynamic
        ? `Declare the ${k.field} under settings.${k.declared} of connection ${conn.name}.`
        : `The ${spec.name} connector ${k.verb}s nothing; use it as a ${k.instead}.`,
  });
}

/** Streams, entities and events of a connection: the catalogue's, or the connection's own for generic connectors. */
function capabilities(conn: Resource<'Connection'>): {
  spec?: ConnectorSpec;
  streams: Record<string, unknown>;
  entities: Record<string, { accepts?: readonly string[] }>;
  events: Record<string, { stream?: string; payload?: string }>;
} {
  const type = text(conn.spec.connector);
  const spec = type === undefined ? undefined : connectorSpec(type);
  if (!spec) return { streams: {}, entities: {}, events: {} };
  if (!spec.dynamic) return { spec, streams: spec.streams, entities: spec.entities, events: spec.events };
  const s = isObject(conn.spec.settings) ? conn.spec.settings : {};
  return {
    spec,
    streams: isObject(s.streams) ? s.streams : {},
    entities: (isObject(s.entities) ? s.entities : {}) as Record<string, { accepts?: readonly string[] }>,
    events: (isObject(s.events) ? s.events : {}) as Record<string, { stream?: string }>,
  };
}

// --- flows -------------------------------------------------------------------------------------------------------

function checkFlow(
  ws: Workspace,
  c: CustomerModel,
  flow: Resource<'Flow'>,
  mappings: Map<string, MappingFacts>,
  rep: Reporter,
): void {
  const spec = flow.spec;
  const source = fields<FlowSource>(spec.source);
  const target = fields<FlowTarget>(spec.target);
  const stream = text(source.stream);
  const entityName = text(target.entity);
  const canonical = text(spec.canonical);

  const conn = (side: 'source' | 'target', ref: unknown): Resource<'Connection'> | undefined => {
    const name = text(ref);
    if (name === undefined) return undefined;
    const found = c.connections.get(name);
    if (found) return found;
    const elsewhere = crossCustomerName(name) ?? ownerElsewhere(ws, c, (o) => o.connections, name);
    if (elsewhere) {
      rep.at(flow, ['spec', side, 'connection'], {
        severity: 'error',
        code: 'cross-customer-ref',
        summary: `Connection "${name}" belongs to customer ${elsewhere}`,
        detail: `Nothing of one customer may reference another's: a flow of ${c.name} can only use ${c.name}'s connections (${[...c.connections.keys()].join(', ') || 'none yet'}). Declare the connection in ${c.folder}/.`,
      });
    } else {
      rep.at(flow, ['spec', side, 'connection'], {
        severity: 'error',
        code: 'ref-unknown',
        summary: `Unknown connection "${name}"`,
        detail: `Customer ${c.name} has the connections ${[...c.connections.keys()].join(', ') || '(none)'}.${suggest(name, c.connections.keys())} Declare it as a Connection in ${c.folder}/.`,
      });
    }
    return undefined;
  };
  const src = conn('source', source.connection);
  const dst = conn('target', target.connection);

  // Capabilities: can the source read, can the target write.
  if (src && stream !== undefined) {
    const cap = capabilities(src);
    if (cap.spec && !(stream in cap.streams)) {
      cannotDo(rep, flow, 'source', src, cap.spec, stream, Object.keys(cap.streams));
    }
  }
  if (dst && entityName !== undefined) {
    const cap = capabilities(dst);
    const entity = cap.entities[entityName];
    if (cap.spec && !entity) {
      cannotDo(rep, flow, 'target', dst, cap.spec, entityName, Object.keys(cap.entities));
    } else if (
      cap.spec &&
      entity &&
      canonical &&
      Array.isArray(entity.accepts) &&
      !entity.accepts.includes(canonical)
    ) {
      rep.at(flow, ['spec', 'canonical'], {
        severity: 'error',
        code: 'target-cannot-write',
        summary: `${dst.name} ${entityName} cannot be written from a canonical ${canonical}`,
        detail: `${entityName} accepts ${entity.accepts.join(', ')}. Map the source to one of those, or choose another target entity.`,
      });
    }
  }

  // Trigger: event, schedule or manual.
  const trigger = fields<FlowTrigger>(spec.trigger);
  const events = triggerEvents(trigger.event);
  const listed = Array.isArray(trigger.event);
  for (const [n, event] of events.entries()) {
    if (!src) break;
    const at: Path = listed ? ['spec', 'trigger', 'event', n] : ['spec', 'trigger', 'event'];
    const cap = capabilities(src);
    const ev = cap.events[event];
    const carries = text(ev?.stream);
    if (cap.spec && !ev) {
      const names = Object.keys(cap.events);
      rep.at(flow, at, {
        severity: 'error',
        code: 'event-unknown',
        summary: `${src.name} (${cap.spec.name}) sends no "${event}" event`,
        detail: names.length
          ? `Its webhook topics are: ${names.join(', ')}.${suggest(event, names)}`
          : `The ${cap.spec.name} connector receives no webhooks: use a schedule trigger.`,
      });
    } else if (carries !== undefined && stream !== undefined && stream in cap.streams && carries !== stream) {
      rep.at(flow, at, {
        severity: 'error',
        code: 'event-stream-mismatch',
        summary: `Event "${event}" carries ${carries}, not ${stream}`,
        detail: `Set source.stream to ${carries}, or choose an event of the ${stream} stream.`,
      });
    } else if (ev?.payload === 'reference' && !cap.spec?.lookup) {
      // The delivery has ids (and perhaps a state), not the record: the mapping would be given a summary.
      rep.at(flow, at, {
        severity: 'warning',
        code: 'event-reference',
        summary: `Event "${event}" carries only a reference to ${carries ?? 'its record'}, not the record`,
        detail: `${cap.spec?.name ?? 'The connector'} sends ids (and perhaps a state) with this topic; its connector does not fetch the record a reference points to, so the mapping sees the summary. Read the stream on a schedule instead, or trigger on a topic that carries the record.`,
      });
    }
  }
  let maxGapMs: number | undefined;
  const schedule = isObject(trigger.schedule) ? scheduleOf(flow) : undefined;
  const cronText = text(schedule?.cron);
  if (cronText !== undefined) {
    const tz = timezoneOf(ws, flow);
    const validTz = isValidTimeZone(tz);
    // An inherited time zone (the customer's, the workspace default) is reported where it is written, once.
    if (!validTz && text(schedule?.timezone) !== undefined) {
      rep.at(flow, ['spec', 'trigger', 'schedule', 'timezone'], {
        severity: 'error',
        code: 'timezone-invalid',
        summary: `Unknown time zone "${tz}"`,
        detail: 'Use an IANA time zone name such as America/Chicago, Europe/Berlin or UTC.',
      });
    }
    // An unknown zone is reported above; the cron is still checked, in the zone a flow without one runs in.
    const cron = checkCron(cronText, validTz ? tz : DEFAULTS.WorkspaceDefaults.timezone);
    if (!cron.ok) {
      rep.at(flow, ['spec', 'trigger', 'schedule', 'cron'], {
        severity: 'error',
        code: 'cron-invalid',
        summary: `Invalid cron expression "${cronText}"`,
        detail: `${cron.message}. Example: "*/15 * * * *" is every 15 minutes, "0 2 * * *" is 02:00 daily.`,
      });
    } else maxGapMs = cron.maxGapMs;
  }

  // References to policy and SLA (with the defaults chain).
  const ownPolicy = text(spec.policy);
  if (ownPolicy !== undefined) checkSharedRef(POLICY_REF, ws, c, flow, ['spec', 'policy'], ownPolicy, rep);
  const ownSla = text(spec.sla);
  if (ownSla !== undefined) checkSharedRef(SLA_REF, ws, c, flow, ['spec', 'sla'], ownSla, rep);
  const policyName = policyNameOf(ws, flow).name;
  const policy = policyName ? lookupPolicy(ws, c.name, policyName) : undefined;
  const slaName = slaNameOf(ws, flow).name;
  const sla = slaName ? lookupSla(ws, c.name, slaName) : undefined;

  // SLA the trigger can meet.
  if (sla) {
    const freshness = parseDuration(sla.spec.freshness);
    const slaPath =
      ownSla !== undefined
        ? ['spec', 'sla']
        : isObject(trigger.schedule)
          ? ['spec', 'trigger', 'schedule', 'cron']
          : ['spec', 'trigger'];
    if (freshness !== undefined && maxGapMs !== undefined && maxGapMs > freshness) {
      rep.at(flow, slaPath, {
        severity: 'error',
        code: 'sla-unreachable',
        summary: `SLA ${sla.name} wants ${sla.spec.freshness} freshness; the schedule runs every ${formatDuration(maxGapMs)} at worst`,
        detail: `Data can be up to ${formatDuration(maxGapMs)} old between runs. Run more often (a cron at most ${formatDuration(freshness)} apart), trigger on an event, or use an SLA with a looser freshness.`,
      });
    }
    if (freshness !== undefined && trigger.manual === true) {
      rep.at(flow, slaPath, {
        severity: 'warning',
        code: 'sla-unreachable',
        summary: `SLA ${sla.name} wants ${sla.spec.freshness} freshness, but the flow only runs by hand`,
        detail: 'A manual flow has no freshness. Give it a schedule or an event trigger, or an SLA without freshness.',
      });
    }
  }

  // Mapping: exists, compiles (reported per file), stays inside the customer or a template.
  let written: string[] | undefined;
  let mappingFile: string | undefined;
  const mapping = text(spec.mapping);
  if (mapping !== undefined) {
    const file = resolveRelative(flow.dir, mapping);
    const otherCustomer = file?.startsWith('integrations/') ? file.split('/')[1] : undefined;
    if (!file) {
      rep.at(flow, ['spec', 'mapping'], {
        severity: 'error',
        code: 'mapping-missing',
        summary: `Mapping path "${mapping}" leaves the workspace`,
        detail: 'Write the path relative to this file, inside the workspace.',
      });
    } else if (otherCustomer && otherCustomer !== c.name) {
      rep.at(flow, ['spec', 'mapping'], {
        severity: 'error',
        code: 'cross-customer-ref',
        summary: `Mapping ${file} belongs to customer ${otherCustomer}`,
        detail: `Nothing of one customer may reference another's. Copy the mapping into ${c.folder}/, or make it a template.`,
      });
    } else if (!ws.files.has(file)) {
      rep.at(flow, ['spec', 'mapping'], {
        severity: 'error',
        code: 'mapping-missing',
        summary: `Mapping file ${file} does not exist`,
        detail: `The path is relative to ${flow.dir}/. ${mappingNear(ws, file, c.name)}`,
      });
    } else {
      const m = mappings.get(file);
      if (m?.ok) [written, mappingFile] = [m.fields ?? undefined, file];
    }
  }

  // Idempotency key: a JSONata expression over the source record.
  const key = text(spec.key);
  if (key !== undefined) {
    const k = compile(key);
    if (!k.ok) {
      rep.push({
        severity: 'error',
        code: 'jsonata-syntax',
        summary: 'Idempotency key does not compile',
        detail: `${k.problem.message} (${k.problem.code}). The key is a JSONata expression over the source record, e.g. "'order-' & id".${templateNote(flow)}`,
        range: locateInScalar(flow, ['spec', 'key'], k.problem.index),
        address: addressOf(flow, ws.env),
      });
    } else if (!readsInput(k.expr)) {
      // A key that is the same for every record makes every record after the first "unchanged" or overwrites the
      // one before it: nothing but one record would ever reach the target.
      rep.at(flow, ['spec', 'key'], {
        severity: 'error',
        code: 'key-constant',
        summary: 'The idempotency key is the same for every record',
        detail: `${JSON.stringify(key)} reads nothing of the source record, so every record would get one key (and overwrite, or be skipped as, the one before). Build it from the record's id, e.g. "'order-' & $string(id)".${templateNote(flow)}`,
      });
    }
  }

  if (policy && src && dst) checkGovernance(ws, c, flow, policy, src, dst, canonical, written, mappingFile, rep);
}

function mappingNear(ws: Workspace, file: string, customer?: string): string {
  const base = file.split('/').pop() ?? file;
  // Only files the flow may use: its customer's and the templates' (another customer's would be cross-customer-ref).
  const usable = (f: string) =>
    !f.startsWith('integrations/') || (customer !== undefined && f.startsWith(`integrations/${customer}/`));
  const same = [...ws.files.keys()].filter((f) => f.endsWith(`/${base}`) && usable(f));
  return same.length ? `A file of that name exists at ${same.slice(0, 3).join(', ')}.` : 'Create it, or fix the path.';
}

// --- governance --------------------------------------------------------------------------------------------------

function checkGovernance(
  ws: Workspace,
  c: CustomerModel,
  flow: Resource<'Flow'>,
  policy: Resource<'Policy'>,
  src: Resource<'Connection'>,
  dst: Resource<'Connection'>,
  canonical: string | undefined,
  written: string[] | undefined,
  mappingFile: string | undefined,
  rep: Reporter,
): void {
  const sourceIs = systemNames(ws, c.name, src.name);
  const targetIs = systemNames(ws, c.name, dst.name);
  const owns = (owner: string, names: string[]) => names.includes(owner);
  const ownership = fields<Record<string, unknown>>(policy.spec.ownership);
  if (canonical) {
    const owner = text(ownership[canonical]);
    if (owner !== undefined && !owns(owner, sourceIs)) {
      rep.at(flow, ['spec', 'target'], {
        severity: 'error',
        code: 'ownership-violation',
        summary: `Policy ${policy.name} says ${owner} owns ${canonical}; this flow writes it from ${src.name}`,
        detail: `Writing ${canonical} into ${dst.name} from a system that does not own it would overwrite the system of record. Reverse the flow (${owner} → others), or change the ownership in policy ${policy.name}.`,
      });
    } else if (written) {
      for (const [key, ownerOf] of Object.entries(ownership)) {
        const fieldOwner = text(ownerOf);
        if (!key.startsWith(`${canonical}.`) || fieldOwner === undefined || owns(fieldOwner, sourceIs)) continue;
        const field = key.slice(canonical.length + 1);
        if (written.find((f) => f === field || f.startsWith(`${field}.`))) {
          rep.at(flow, ['spec', 'mapping'], {
            severity: 'error',
            code: 'ownership-violation',
            summary: `Policy ${policy.name} says ${fieldOwner} owns ${key}; this flow's mapping writes it from ${src.name}`,
            detail: `Leave "${field}" out of the mapping's output so ${dst.name} keeps ${fieldOwner}'s value, or change the ownership in policy ${policy.name}.`,
          });
        }
      }
    }
  }
  // PII: by what flows into each output field, whatever it is called (pii-lineage.ts).
  const pii = fields<PiiPolicy>(policy.spec.pii);
  const source = mappingFile === undefined ? undefined : ws.files.get(mappingFile);
  if (source !== undefined && strings(pii.forbidTargets).some((t) => targetIs.includes(t))) {
    const lineage = mappingLineage(ws, mappingFile!);
    const f = { file: mappingFile!, text: source, flow: flow.name, policy: policy.name, target: dst.name };
    for (const d of lineage ? piiLineageProblems(lineage, { ...f, pii: strings(pii.fields) }) : [])
      rep.push({ ...d, address: addressOf(flow, ws.env) }, flow.template !== undefined);
  }
}

// --- mapping tests -----------------------------------------------------------------------------------------------

/**
 * Every flow's mapping is covered by a MappingTest (the idempotency contract rests on them): a warning, or an error
 * when rsync.yaml says `validation: { requireMappingTests: true }` (or `untestedMappings: error`; `off` silences it). A template's flow is reported once, at the
 * template, counted per customer that uses it.
 */
function checkMappingsTested(ws: Workspace, rep: Reporter): void {
  const tested = new Set<string>();
  for (const t of mappingTests(ws)) {
    const m = text(t.spec.mapping);
    const file = m === undefined ? undefined : resolveRelative(t.dir, m);
    if (file) tested.add(file);
  }
  const validation = ws.settings?.spec.validation;
  const mode = !isObject(validation)
    ? 'warn'
    : validation.requireMappingTests === true
      ? 'error'
      : (text(validation.untestedMappings) ?? 'warn');
  if (mode === 'off') return;
  const required = mode === 'error';
  for (const c of ws.customers.values())
    for (const f of c.flows.values()) {
      const m = text(f.spec.mapping);
      const file = m === undefined ? undefined : resolveRelative(f.dir, m);
      if (!file || !ws.files.has(file) || tested.has(file)) continue;
      const test = file.replace(/\.jsonata$/, '.test.yaml');
      rep.at(f, ['spec', 'mapping'], {
        severity: required ? 'error' : 'warning',
        code: 'mapping-untested',
        summary: `No MappingTest covers the mapping ${file}`,
        detail: `Add a MappingTest beside it (e.g. ${test}: kind MappingTest, spec.mapping: ${file.split('/').pop()}, cases with an input and the output expected) and run \`rsync test\`.${required ? ' rsync.yaml requires one for every flow (validation.requireMappingTests).' : ''}`,
      });
    }
}

function checkMappingTest(ws: Workspace, t: Resource<'MappingTest'>, rep: Reporter): void {
  const mapping = text(t.spec.mapping);
  if (mapping === undefined) return;
  const file = resolveRelative(t.dir, mapping);
  if (!file || !ws.files.has(file)) {
    rep.at(t, ['spec', 'mapping'], {
      severity: 'error',
      code: 'mapping-missing',
      summary: `Mapping file ${file ?? mapping} does not exist`,
      detail: `The path is relative to ${t.dir}/. ${file ? mappingNear(ws, file, t.customer) : ''}`.trim(),
    });
  }
}
