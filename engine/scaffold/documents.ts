/**
 * The text of the files `rsync init` writes: rsync.yaml, the customer's customer.yaml and connections, the
 * README, the CI workflow and .gitignore. Pure functions of the choices made in scaffold.ts and template.ts.
 *
 * YAML is produced with the yaml library (so any partner or customer name is quoted correctly) in the style of
 * schemas/README.md: block mappings, short leaf mappings on one line, a comment where the partner edits.
 */
import { Document, isPair, isScalar, Scalar, visit } from 'yaml';
import type { ConnectionSample } from '../connectors/spec.js';
import type { ConnectionPlan, TemplatePlan } from './template.js';

export const API_VERSION = 'rsync/v1';

export interface Names {
  /** The partner's display name, and the Workspace's metadata.name. */
  partner: string;
  workspace: string;
  /** The customer's folder name (metadata.name) and display name. */
  customer: string;
  customerDisplay: string;
  timezone: string;
  policy: string;
  sla: string;
}

/** A value as YAML: short maps of scalars on one line, secret references quoted. */
export function toYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Map(_, node, path) {
      if (path.length === 0) return;
      const leaf = node.items.every((p) => isPair(p) && isScalar(p.value));
      const width = node.items.reduce(
        (n, p) => n + String((p.key as Scalar).value).length + String((p.value as Scalar).value).length + 4,
        4,
      );
      if (leaf && node.items.length <= 4 && width < 72) node.flow = true;
    },
    Seq(_, node) {
      const scalars = node.items.every((i) => isScalar(i));
      const width = node.items.reduce((sum: number, i) => sum + String((i as Scalar).value).length + 2, 4);
      if (scalars && width < 72) node.flow = true;
    },
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'secretRef' && isScalar(pair.value))
        pair.value.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return doc.toString({ indent: 2, lineWidth: 0 });
}

/** A document: apiVersion, kind, metadata, then the rest, with a comment line above. */
function document(kind: string, name: string, rest: Record<string, unknown>, comment?: string): string {
  const head = comment
    ? comment
        .split('\n')
        .map((l) => `# ${l}`.trimEnd())
        .join('\n') + '\n'
    : '';
  return `${head}apiVersion: ${API_VERSION}\nkind: ${kind}\n${toYaml({ metadata: { name }, ...rest })}`;
}

export function workspaceFile(n: Names, plan: TemplatePlan): string {
  const ws = document(
    'Workspace',
    n.workspace,
    {
      spec: {
        partner: { name: n.partner },
        branding: { productName: n.partner, footer: `Managed by ${n.partner}` },
        environments: {
          staging: { ref: 'main', description: 'every merge to main' },
          production: { ref: 'production', requiresApproval: true, description: 'what the customers run on' },
        },
        defaults: { timezone: n.timezone, policy: n.policy, sla: n.sla },
        // Each customer's connections reference only its own secrets (engine/validate/secret-scope.ts).
        secrets: { scopes: { customer: { env: '{CUSTOMER}_*', file: '{customer}/' } } },
      },
    },
    `The partner workspace: who you are, your environments and the defaults of every customer's flows.\nReference: the rsync schemas README (workspace.schema.json, policy.schema.json, sla.schema.json).`,
  );
  // Optional fields with formats the schema checks: left as comments for the partner to fill in.
  const withOptional = ws
    .replace(
      /^(\s+)(partner: .*)$/m,
      '$1# partner also takes website: https://… and support: an e-mail address or a URL\n$1$2',
    )
    .replace(
      /^(\s+)(branding: .*)$/m,
      '$1# branding also takes logoUrl: https://…/logo.svg, primaryColor: "#RRGGBB" and supportUrl\n$1$2',
    );

  const ownership: Record<string, string> = { ...defaultOwnership(plan), ...plan.owners };
  const policy = document(
    'Policy',
    n.policy,
    {
      spec: {
        ownership,
        retry: { maxAttempts: 8, backoff: 'exponential', initial: '2s', max: '10m' },
        deadLetter: { retain: '90d' },
        pii: { fields: ['customer.email', 'customer.phone', 'billingAddress', 'shippingAddress'], mask: true },
        retention: { runs: '30d', ledger: '400d' },
        approvals: { production: 1 },
      },
    },
    `Partner-wide governance, the default of every flow (defaults.policy above). A customer may declare its own.\nownership: the system of record of each canonical entity; a flow that writes it from another system is an error.`,
  );
  const sla = document(
    'SLA',
    n.sla,
    {
      spec: {
        freshness: freshness(plan.maxScheduleGapMs),
        latencyP95: '60s',
        successRate: '99.5%',
        supportTier: 'standard',
      },
    },
    'The default service level of every flow (defaults.sla above).',
  );
  const policyWithHint = policy.replace(
    /^(\s+)(mask: .*)$/m,
    '$1$2\n$1# forbidTargets: [avalara]   # connection names or connector types these fields must never reach',
  );
  return `${withOptional}---\n${policyWithHint}---\n${sla}`;
}

/**
 * A freshness objective the template's schedules can meet: 15 minutes for event flows, else the longest wait
 * between two scheduled runs plus a margin for the run itself.
 */
function freshness(gapMs: number | undefined): string {
  const minute = 60_000;
  const ms = gapMs === undefined ? 15 * minute : gapMs + Math.max(15 * minute, gapMs / 10);
  return ms < 120 * minute ? `${Math.ceil(ms / minute)}m` : `${Math.ceil(ms / (60 * minute))}h`;
}

/** Storefront-owned and ERP-owned entities, when the template moves data between a source and an ERP. */
function defaultOwnership(plan: TemplatePlan): Record<string, string> {
  const source = plan.connections.find(
    (c) => c.role === 'source' && ['storefront', 'marketplace', 'pos'].includes(c.connector.category),
  );
  const erp = plan.connections.find(
    (c) => c.connector.category === 'erp' || (c.connector.category === 'sandbox' && c.role === 'target'),
  );
  const out: Record<string, string> = {};
  if (source) for (const e of ['order', 'refund', 'customer']) out[e] = source.connector.name;
  if (erp) for (const e of ['product', 'price', 'inventoryLevel']) out[e] = erp.connector.name;
  return out;
}

export function customerFile(n: Names, plan: TemplatePlan): string {
  const t = plan.template;
  const body = document(
    'Customer',
    n.customer,
    {
      spec: {
        displayName: n.customerDisplay,
        timezone: n.timezone,
        uses: [{ template: `${t.name}@${t.version}`, with: plan.with }],
      },
    },
    `One retailer. Its connections are in connections/; its flows come from the templates under uses:\n(templates/${t.name}/${t.version}/template.yaml), and you can add flows of its own beside this file.`,
  );
  const left = Object.entries(plan.defaults);
  if (!left.length) return body;
  const note = `      # other parameters, at their defaults: ${left.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}`;
  return body.replace(/^(\s+with: .*)$/m, `$1\n${note}`).replace(/^(\s+with:)$/m, `$1\n${note}`);
}

/** Non-secret settings of a new connection, and what the staging environment changes: the connector's sample. */
function sampleSettings(c: ConnectionPlan, n: Names): ConnectionSample | undefined {
  return c.connector.sample?.({ customer: n.customer, who: possessive(n.customerDisplay), role: c.role });
}

/**
 * Settings for a new connection that pass the connector's schema: known placeholders per connector, the required
 * secrets (and the webhook signing secret of an event source) as env references, with their own references for
 * staging, which runs against other accounts.
 */
export function connectionSettings(
  c: ConnectionPlan,
  n: Names,
): { settings: Record<string, unknown>; staging?: Record<string, unknown>; description: string; secrets: string[] } {
  const spec = c.connector;
  const props = spec.settings.properties;
  const sample = sampleSettings(c, n) ?? genericSample(c, n);
  const secretNames = Object.keys(props).filter(
    (k) =>
      props[k]['x-secret'] === true &&
      ((spec.settings.required ?? []).includes(k) ||
        (spec.settings.anyOf?.[0]?.required ?? []).includes(k) ||
        (c.events && /webhook|signature/i.test(k))),
  );
  const env = (prop: string, staging: boolean) =>
    [n.customer, ...(staging ? ['staging'] : []), c.name, prop.replace(/([a-z0-9])([A-Z])/g, '$1_$2')]
      .join('_')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .toUpperCase();
  const ordered = (values: Record<string, unknown>, staging: boolean) => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(props)) {
      if (k in values) out[k] = values[k];
      else if (secretNames.includes(k)) out[k] = { secretRef: `env:${env(k, staging)}` };
    }
    return out;
  };
  const settings = ordered(sample.settings, false);
  const staging = sample.staging ? ordered(sample.staging, true) : undefined;
  const secrets = [settings, staging ?? {}]
    .flatMap((o) => Object.values(o))
    .filter(isSecretRef)
    .map((v) => v.secretRef.slice(4));
  return {
    settings,
    ...(staging && Object.keys(staging).length ? { staging } : {}),
    description: sample.description,
    secrets,
  };
}

function genericSample(c: ConnectionPlan, n: Names): ConnectionSample {
  const settings: Record<string, unknown> = {};
  for (const key of c.connector.settings.required ?? []) {
    const p = c.connector.settings.properties[key] ?? {};
    if (p['x-secret'] === true) continue;
    if (Array.isArray(p.enum)) settings[key] = p.default ?? p.enum[0];
    else if (p.format === 'uri' || String(p.pattern ?? '').includes('https?'))
      settings[key] = `https://${n.customer}.example`;
    else settings[key] = 'CHANGE-ME';
  }
  return { settings, description: `${possessive(n.customerDisplay)} ${c.connector.title}: replace the placeholders.` };
}

function possessive(name: string): string {
  return /s$/i.test(name) ? `${name}'` : `${name}'s`;
}

function isSecretRef(v: unknown): v is { secretRef: string } {
  return typeof v === 'object' && v !== null && typeof (v as { secretRef?: unknown }).secretRef === 'string';
}

/** One file per connection, like the example workspace: connections/<name>.yaml. */
export function connectionFiles(
  n: Names,
  plan: TemplatePlan,
): { files: { name: string; text: string }[]; secrets: string[] } {
  const secrets: string[] = [];
  const files = plan.connections.map((c) => {
    const s = connectionSettings(c, n);
    secrets.push(...s.secrets);
    const comment =
      c.connector.category === 'sandbox'
        ? `${c.connector.title}: no credentials.`
        : `${c.connector.title}. Secrets by reference only: set these environment variables where rsync runs.`;
    const text = document(
      'Connection',
      c.name,
      {
        spec: { connector: c.connector.name, description: s.description, settings: s.settings },
        ...(s.staging ? { environments: { staging: { settings: s.staging } } } : {}),
      },
      comment,
    );
    return { name: c.name, text };
  });
  return { files, secrets };
}

export function gitignoreLines(): string[] {
  return ['# rsync: the embedded database and local state', '.rsync/', 'node_modules/'];
}

/** The GitHub Actions workflow that checks every pull request. */
export function ciWorkflow(): string {
  return `# rsync checks on every pull request: validate the workspace, run the mapping tests, then post the diff and the
# plan as one comment on the pull request (edited on every push). Created by \`rsync init\`; edit freely.
name: rsync

on:
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

env:
  # Where to install rsync from. rsync is not published on the npm registry, so point this at your copy:
  #   - a Git URL, optionally with #<tag|branch|commit>:  https://github.com/<org>/<rsync-repo>.git#v0.1.0
  #     (cloned, built with \`npm ci\`, and installed globally from that folder)
  #   - a tarball from \`npm pack\` of a built rsync:     https://<host>/rsync-retail-0.1.0.tgz
  #     (only when rsync's package.json lists its build output, .build/, under "files")
  # Set it as a repository variable (Settings → Secrets and variables → Actions → Variables → RSYNC_PACKAGE),
  # or replace the expression below with the value itself.
  RSYNC_PACKAGE: \${{ vars.RSYNC_PACKAGE }}

jobs:
  rsync:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write   # the plan comment
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0   # the comment's diff needs the pull request's base

      - uses: actions/setup-node@v4
        with:
          node-version: 20

      # npm's cache, keyed by where rsync comes from (setup-node's \`cache: npm\` needs a lockfile this repository has not).
      - uses: actions/cache@v4
        with:
          path: ~/.npm
          key: rsync-npm-\${{ runner.os }}-\${{ env.RSYNC_PACKAGE }}

      - name: Install rsync
        run: |
          set -eu
          if [ -z "$RSYNC_PACKAGE" ]; then
            echo "::error::RSYNC_PACKAGE is not set: make it a repository variable, or edit .github/workflows/rsync.yml."
            exit 1
          fi
          case "$RSYNC_PACKAGE" in
            *.tgz|*.tar.gz)
              npm install --global --no-audit --no-fund --ignore-scripts "$RSYNC_PACKAGE" ;;
            *)
              url="\${RSYNC_PACKAGE%%#*}"
              ref=""
              case "$RSYNC_PACKAGE" in *#*) ref="\${RSYNC_PACKAGE#*#}" ;; esac
              git clone --quiet "\${url#git+}" "$RUNNER_TEMP/rsync"
              if [ -n "$ref" ]; then git -C "$RUNNER_TEMP/rsync" checkout --quiet "$ref"; fi
              (cd "$RUNNER_TEMP/rsync" && npm ci --no-audit --no-fund)   # its prepare script builds the CLI
              npm install --global --no-audit --no-fund --ignore-scripts "$RUNNER_TEMP/rsync" ;;   # built already
          esac
          retail-sync --version

      # rsync is also installed as \`retail-sync\`; the workflow uses that name because runner images ship the
      # rsync file-copy tool, which may come first on the PATH.
      - name: Validate
        run: retail-sync validate

      - name: Mapping tests
        run: retail-sync test

      # One comment on the pull request with the diff and, when the RSYNC_DATABASE_URL secret is set, the plan
      # against what is deployed. It fails the check when the workspace has errors (exit 1).
      - name: Plan comment
        if: github.event_name == 'pull_request'
        run: retail-sync pr comment
        env:
          GITHUB_TOKEN: \${{ secrets.GITHUB_TOKEN }}
          DATABASE_URL: \${{ secrets.RSYNC_DATABASE_URL }}
`;
}

export function readme(n: Names, plan: TemplatePlan, secrets: string[], fixtures: boolean, schemas = false): string {
  const _t = plan.template;
  const conns = plan.connections.map((c) => `\`${c.name}\``).join(', ');
  return `# ${n.partner} — integrations

This repository holds the retail integrations that ${n.partner} runs for its customers, as code: YAML documents
and JSONata mappings that [rsync](#installing-rsync) validates, tests, plans and applies. Every change goes
through a pull request; Git history is the audit trail of what changed, when, by whom and why.

## Layout

\`\`\`
${layout(n, plan, fixtures, schemas)}
\`\`\`

## Everyday commands

\`\`\`sh
retail-sync validate    # every problem in one run, as file:line:col with a fix; exit 1 on errors
retail-sync test        # the mapping tests, with the real JSONata engine
retail-sync watch       # both, again on every save, printing only what changed
\`\`\`

Add \`--json\` to any of them for machine-readable output. rsync's own messages write \`rsync\` for \`retail-sync\`.

## Running the flows

The connections hold placeholders until you fill in their settings and secrets, and a worker that tried the
systems they name would dead-letter every record (\`retail-sync runs\` says so). Until then, run the flows against
simulated systems (the sandbox, in the state database): commit, then \`retail-sync apply --env staging\` and
\`retail-sync worker --env staging --sandbox\`.

## Secrets

Secrets are never written in these files: connections name them as \`{ secretRef: "env:NAME" }\` (an environment
variable) or \`{ secretRef: "file:NAME" }\` (the file NAME inside the secrets folder that rsync.yaml declares as
\`spec.secrets.folder\`, e.g. \`/run/secrets/acme\`; nothing outside it is read). ${possessive(n.customerDisplay)} connections ${conns} need:

${secrets.length ? secrets.map((s) => `- \`${s}\``).join('\n') : '- nothing (the sandbox needs no credentials)'}

Set them where rsync runs (your deployment's secret store), not in this repository.

## Adding a customer

Copy \`integrations/${n.customer}/\` to \`integrations/<new-customer>/\`, set \`metadata.name\` in its customer.yaml to the
folder's name, and change its connections. \`rsync validate\` tells you what is missing.

## Installing rsync

rsync is not published on a package registry: install it from your copy of its repository
(\`git clone …\`, then \`npm ci\` and \`npm install --global .\` in the clone), or run it from the clone with
\`node <clone>/cli/bin/run.js <command>\`. It is installed as \`retail-sync\` only: \`rsync\` is the Unix file-copy tool
on most machines (\`retail-sync doctor\` says which one PATH finds). The CI workflow reads where to install it from the \`RSYNC_PACKAGE\`
variable: see the comments in .github/workflows/rsync.yml.
`;
}

function layout(n: Names, plan: TemplatePlan, fixtures: boolean, schemas: boolean): string {
  const t = plan.template;
  const rows: [string, string][] = [
    ['rsync.yaml', `the workspace: partner, branding, environments, defaults, Policy "${n.policy}", SLA "${n.sla}"`],
    [`integrations/${n.customer}/`, 'one folder per customer (retailer)'],
    ['  customer.yaml', `the customer, and the templates it uses (${t.name}@${t.version})`],
    ['  connections/', `its systems, one file each: ${plan.connections.map((c) => c.name).join(', ')}`],
    [`templates/${t.name}/${t.version}/`, 'the template: flows, mappings and their mapping tests'],
    ...(fixtures
      ? [['test/fixtures/', 'sample payloads the mapping tests read (see SOURCES.md there)'] as [string, string]]
      : []),
    ...(schemas
      ? [['schemas/', "the JSON Schemas the files' modelines name, for your editor (from rsync)"] as [string, string]]
      : []),
    ['.github/workflows/rsync.yml', 'validate and run the mapping tests on every pull request'],
  ];
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => l.padEnd(width) + r).join('\n');
}
