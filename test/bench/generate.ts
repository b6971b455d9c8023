/**
 * A deterministic generator of realistic workspaces, for benchmarks (validate now; plan and apply later).
 *
 *   generateWorkspace(dir, { customers: 1000, flowsPerCustomer: 10, seed: 1 })
 *
 * writes, into `dir`:
 *
 *   rsync.yaml                          Workspace, partner-wide Policies (standard, finance-grade) and SLAs
 *   templates/<name>/<version>/         4 templates (5 versions) with parameters, mappings and a mapping test
 *   integrations/<customer>/
 *     customer.yaml                     Customer, with `uses:` of 0–3 templates
 *     connections/*.yaml                3–4 Connections: storefront, erp, payments, and pos or tax
 *     flows/[<domain>/]*.yaml           one Flow per file: the customer's flows not produced by a template
 *     mappings/*.jsonata                the customer-local mappings those flows reference (shared where the
 *                                       source record and the canonical entity are the same)
 *     mappings/*.test.yaml              a MappingTest, for some customers
 *     policies/*.yaml, slas/*.yaml      a customer-local Policy or SLA, for some customers
 *
 * `flowsPerCustomer` counts every flow of a customer, template-produced or local; with the defaults about 78% of
 * the flows are local Flow files. Connection names are roles (storefront, erp, payments, pos, tax), which is how
 * the partner-wide ownership policy can say "the ERP owns products" for every customer whatever its systems.
 *
 * Deterministic: the same options give byte-identical files on every run and machine. Each customer draws from its
 * own PRNG seeded by (seed, index), so the first 100 customers of a 1,000-customer workspace are the same as a
 * 100-customer workspace's. Everything generated is meant to validate with zero errors and zero warnings.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as M from './mappings.js';

/** Bump when the output changes in a way a content hash of this folder would not catch (it catches the rest). */
export const GENERATOR_VERSION = 1;

export type Storefront = 'shopify' | 'woocommerce';
type Erp = 'netsuite' | 'business-central';

export interface GenerateOptions {
  /** Number of customers (default 1000). */
  customers?: number;
  /** Flows per customer, template-produced ones included (default 10). */
  flowsPerCustomer?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Storefront systems to draw from (default: shopify and woocommerce, about 2:1). */
  storefronts?: Storefront[];
}

export interface GeneratedStats {
  customers: number;
  flows: number;
  localFlows: number;
  templateFlows: number;
  connections: number;
  templates: number;
  files: number;
  yamlFiles: number;
  jsonataFiles: number;
  bytes: number;
}

/** What is written beside the workspace so a later run can tell whether it may reuse it. */
export interface GeneratedMeta {
  generator: string;
  options: Required<GenerateOptions>;
  stats: GeneratedStats;
}

export const META_FILE = '.rsync-bench.json';

function resolved(opts: GenerateOptions): Required<GenerateOptions> {
  return {
    customers: opts.customers ?? 1000,
    flowsPerCustomer: opts.flowsPerCustomer ?? 10,
    seed: opts.seed ?? 1,
    storefronts: opts.storefronts ?? ['shopify', 'woocommerce'],
  };
}

/** The generator's identity: its version and a hash of its own code (this file and mappings.js). */
export function generatorId(): string {
  const h = createHash('sha256');
  for (const f of ['generate.js', 'mappings.js']) {
    const p = fileURLToPath(new URL(`./${f}`, import.meta.url));
    h.update(existsSync(p) ? readFileSync(p) : f);
  }
  return `v${GENERATOR_VERSION}-${h.digest('hex').slice(0, 12)}`;
}

/**
 * The workspace in `dir` for these options: reused when a previous run generated it with the same generator and
 * options, generated (replacing what a previous generation wrote) otherwise.
 */
export function ensureWorkspace(dir: string, opts: GenerateOptions = {}): { reused: boolean; meta: GeneratedMeta } {
  const want = { generator: generatorId(), options: resolved(opts) };
  const metaPath = path.join(dir, META_FILE);
  if (existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as GeneratedMeta;
      if (meta.generator === want.generator && JSON.stringify(meta.options) === JSON.stringify(want.options))
        return { reused: true, meta };
    } catch {
      // unreadable: regenerate
    }
  }
  const stats = generateWorkspace(dir, opts);
  return { reused: false, meta: { ...want, stats } };
}

/** Write a workspace into `dir` (created if needed; must be empty or hold a previous generation). */
export function generateWorkspace(dir: string, opts: GenerateOptions = {}): GeneratedStats {
  const o = resolved(opts);
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length && !entries.includes(META_FILE)) {
      throw new Error(`${dir} is not empty and was not written by the benchmark generator; refusing to overwrite it`);
    }
    for (const e of entries) rmSync(path.join(dir, e), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  const w = new Writer(dir);

  w.file('rsync.yaml', workspaceYaml());
  for (const t of TEMPLATES) writeTemplate(w, t);

  let localFlows = 0;
  let templateFlows = 0;
  let connections = 0;
  for (let i = 0; i < o.customers; i++) {
    const r = writeCustomer(w, i, o);
    localFlows += r.localFlows;
    templateFlows += r.templateFlows;
    connections += r.connections;
  }
  const stats: GeneratedStats = {
    customers: o.customers,
    flows: localFlows + templateFlows,
    localFlows,
    templateFlows,
    connections,
    templates: TEMPLATES.length,
    files: w.files,
    yamlFiles: w.yaml,
    jsonataFiles: w.jsonata,
    bytes: w.bytes,
  };
  // Written last: a generation cut short is never reused.
  writeFileSync(
    path.join(dir, META_FILE),
    JSON.stringify({ generator: generatorId(), options: o, stats }, null, 2) + '\n',
  );
  return stats;
}

// --- writing -------------------------------------------------------------------------------------------------------

class Writer {
  files = 0;
  yaml = 0;
  jsonata = 0;
  bytes = 0;
  private readonly dirs = new Set<string>();
  constructor(private readonly root: string) {}

  file(rel: string, text: string): void {
    const abs = path.join(this.root, rel);
    const d = path.dirname(abs);
    if (!this.dirs.has(d)) {
      mkdirSync(d, { recursive: true });
      this.dirs.add(d);
    }
    writeFileSync(abs, text);
    this.files++;
    this.bytes += Buffer.byteLength(text);
    if (rel.endsWith('.jsonata')) this.jsonata++;
    else this.yaml++;
  }
}

// --- deterministic randomness --------------------------------------------------------------------------------------

/** Also the fuzzer's (test/fuzz/mutate.ts): a seed replays a case. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

/** A customer's own seed: independent of how many customers are generated. */
function customerSeed(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(i + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

// --- YAML helpers --------------------------------------------------------------------------------------------------

/** A YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string) => JSON.stringify(s);

// --- the partner workspace -----------------------------------------------------------------------------------------

const SLAS: Record<string, { freshnessMs?: number; yaml: string }> = {
  platinum: {
    freshnessMs: 5 * 60_000,
    yaml: `{ freshness: 5m, latencyP95: 30s, successRate: "99.95%", supportTier: platinum }`,
  },
  gold: {
    freshnessMs: 15 * 60_000,
    yaml: `{ freshness: 15m, latencyP95: 60s, successRate: "99.9%", supportTier: gold }`,
  },
  silver: {
    freshnessMs: 30 * 60_000,
    yaml: `{ freshness: 30m, latencyP95: 5m, successRate: "99.5%", supportTier: silver }`,
  },
  bronze: {
    freshnessMs: 3 * 3_600_000,
    yaml: `{ freshness: 3h, latencyP95: 15m, successRate: "99%", supportTier: bronze }`,
  },
  'best-effort': { yaml: `{ successRate: "98%", supportTier: standard }` },
};

function workspaceYaml(): string {
  const slas = Object.entries(SLAS)
    .map(([name, s]) => `---\napiVersion: rsync/v1\nkind: SLA\nmetadata: { name: ${name} }\nspec: ${s.yaml}\n`)
    .join('');
  return `# yaml-language-server: $schema=schemas/document.schema.json
# The partner workspace: Acme Retail Integrations manages its retailers' integrations here.
apiVersion: rsync/v1
kind: Workspace
metadata:
  name: acme-integrations
  labels: { team: integrations }
spec:
  partner: { name: Acme Retail Integrations, website: https://acme.example, support: support@acme.example }
  branding:
    productName: Acme Connect
    logoUrl: https://acme.example/logo.svg
    primaryColor: "#0B5FFF"
    footer: Managed by Acme Retail Integrations
    supportUrl: mailto:support@acme.example
  environments:
    staging: { ref: main, description: every merge to main }
    production: { ref: production }   # no requiresApproval: the bench times plan and apply, not approvals
  secrets: { folder: /run/secrets/acme }
  defaults: { timezone: America/Chicago, policy: standard, sla: silver }
  # The generated mappings have no MappingTests: their 10,000 mapping-untested warnings (each located in its flow
  # file) would be the benchmark's output instead of a valid workspace's.
  validation: { untestedMappings: off }
---
# Partner-wide policies. Connection names are roles (storefront, erp, payments, pos, tax) in every customer,
# so ownership can be stated once for all of them.
apiVersion: rsync/v1
kind: Policy
metadata: { name: standard }
spec:
  ownership:
    product: erp
    price: erp
    inventoryLevel: erp
    product.description: storefront
  retry: { maxAttempts: 6, backoff: exponential, initial: 2s, max: 5m }
  deadLetter: { retain: 30d }
  pii:
    fields: [customer.email, customer.phone, billingAddress]
    forbidTargets: [tax, avalara]
    mask: true
  retention: { runs: 30d, ledger: 400d }
  approvals: { production: 1 }
---
apiVersion: rsync/v1
kind: Policy
metadata: { name: finance-grade, labels: { audit: sox } }
spec:
  ownership:
    product: erp
    price: erp
    inventoryLevel: erp
    product.description: storefront
    journalEntry: erp
  retry: { maxAttempts: 10, backoff: exponential, initial: 5s, max: 30m }
  deadLetter: { retain: 90d }
  pii:
    fields: [customer.email, customer.phone, billingAddress]
    forbidTargets: [tax, avalara]
    mask: true
  retention: { runs: 90d, ledger: 2555d }
  approvals: { staging: 1, production: 2 }
${slas}`;
}

// --- templates -----------------------------------------------------------------------------------------------------

interface TemplateDef {
  name: string;
  version: number;
  yaml: string;
  mappings: Record<string, string>;
  tests: Record<string, string>;
}

const COMMON_PARAMS = `      channel: { type: string, default: web, description: the sales channel written on orders }
      tagPrefix: { type: string, default: "", description: prefix of the tags written on orders and products }
      currency: { type: string, pattern: "^[A-Z]{3}$", default: USD }
      locationId: { type: string, default: "default", description: the storefront's inventory location }
      priceList: { type: string, default: BASE }
      subsidiary: { type: string, default: "1" }`;

const TEMPLATES: TemplateDef[] = [
  {
    name: 'shopify-orders-to-erp',
    version: 1,
    yaml: `apiVersion: rsync/v1
kind: Template
metadata:
  name: shopify-orders-to-erp
  labels: { domain: orders }
spec:
  version: 1
  description: Shopify orders and refunds → ERP sales orders and credit memos, on webhooks.
  parameters:
    type: object
    required: [storefront, erp]
    properties:
      storefront: { type: string, description: the customer's Shopify connection }
      erp: { type: string, description: the customer's ERP connection }
      orderEntity: { type: string, default: salesOrder }
      refundEntity: { type: string, default: creditMemo }
${COMMON_PARAMS}
    additionalProperties: false
  flows:
    - metadata: { name: orders-to-erp, labels: { domain: orders } }
      spec:
        description: Every new Shopify order becomes a sales order in the ERP.
        source: { connection: "\${{ with.storefront }}", stream: orders }
        trigger: { event: orders/create }
        mapping: mappings/shopify-order.jsonata
        canonical: order
        target: { connection: "\${{ with.erp }}", entity: "\${{ with.orderEntity }}" }
        key: "'shopify-order-' & admin_graphql_api_id"
        batchSize: 50
    - metadata: { name: refunds-to-erp, labels: { domain: orders } }
      spec:
        description: Shopify refunds become credit memos in the ERP.
        source: { connection: "\${{ with.storefront }}", stream: refunds }
        trigger: { event: refunds/create }
        mapping: mappings/shopify-refund.jsonata
        canonical: refund
        target: { connection: "\${{ with.erp }}", entity: "\${{ with.refundEntity }}" }
        key: "'shopify-refund-' & $string(id)"
`,
    mappings: {
      'shopify-order.jsonata': M.shopifyOrder('params'),
      'shopify-refund.jsonata': M.shopifyRefund('params'),
    },
    tests: {
      'shopify-order.test.yaml': `apiVersion: rsync/v1
kind: MappingTest
metadata: { name: shopify-order }
spec:
  mapping: shopify-order.jsonata
  canonical: order
  params: { channel: web, tagPrefix: "", currency: USD }
  cases:
    - name: a paid web order
      input:
        value:
          id: 5512
          name: "#1001"
          created_at: "2026-03-14T09:30:00-05:00"
          currency: USD
          source_name: web
          total_price: "40.00"
          subtotal_price: "36.00"
          total_tax: "4.00"
          total_discounts: "0.00"
          financial_status: paid
          line_items: [{ id: 1, sku: TEE-M, title: Tee, quantity: 2, price: "18.00" }]
      expect: { valid: order }
    - name: a test order is filtered
      input: { value: { id: 5513, test: true } }
      output: null
`,
    },
  },
  ...[1, 2].map(
    (version): TemplateDef => ({
      name: 'erp-inventory-sync',
      version,
      yaml: `apiVersion: rsync/v1
kind: Template
metadata:
  name: erp-inventory-sync
  labels: { domain: inventory }
spec:
  version: ${version}
  description: ERP inventory${version === 2 ? ' and prices' : ''} → the storefront, on a schedule.${version === 2 ? ' Version 2 adds the price sync.' : ''}
  parameters:
    type: object
    required: [erp, erpType, storefront, storefrontEntity]
    properties:
      erp: { type: string }
      erpType: { enum: [netsuite, business-central], description: picks the mapping }
      storefront: { type: string }
      storefrontEntity: { type: string, description: "inventoryLevel (Shopify) or stock (WooCommerce)" }
${version === 2 ? '      priceEntity: { type: string, default: variantPrice }\n' : ''}      cron: { type: string, default: "*/15 * * * *" }
      sla: { type: string, default: silver }
${COMMON_PARAMS}
    additionalProperties: false
  flows:
    - metadata: { name: inventory-to-storefront, labels: { domain: inventory } }
      spec:
        source: { connection: "\${{ with.erp }}", stream: inventory }
        trigger: { schedule: { cron: "\${{ with.cron }}" } }
        mapping: "mappings/\${{ with.erpType }}-inventory.jsonata"
        canonical: inventoryLevel
        target: { connection: "\${{ with.storefront }}", entity: "\${{ with.storefrontEntity }}" }
        key: "'\${{ with.erpType }}-inventory-' & $string(id) & '@' & $string(lastmodifieddate ? lastmodifieddate : lastModifiedDateTime)"
        sla: "\${{ with.sla }}"
        batchSize: 250
${
  version === 2
    ? `    - metadata: { name: prices-to-storefront, labels: { domain: catalog } }
      spec:
        source: { connection: "\${{ with.erp }}", stream: prices }
        trigger: { schedule: { cron: "*/30 * * * *" } }
        mapping: "mappings/\${{ with.erpType }}-price.jsonata"
        canonical: price
        target: { connection: "\${{ with.storefront }}", entity: "\${{ with.priceEntity }}" }
        key: "'price-' & $string(id) & '@' & $string(lastmodifieddate)"
        sla: silver
`
    : ''
}`,
      mappings: {
        'netsuite-inventory.jsonata': M.erpInventory('netsuite', 'params'),
        'business-central-inventory.jsonata': M.erpInventory('business-central', 'params'),
        ...(version === 2
          ? {
              'netsuite-price.jsonata': M.erpPrice('netsuite', 'params'),
              'business-central-price.jsonata': M.erpPrice('business-central', 'params'),
            }
          : {}),
      },
      tests: {},
    }),
  ),
  {
    name: 'stripe-payouts-to-erp',
    version: 1,
    yaml: `apiVersion: rsync/v1
kind: Template
metadata:
  name: stripe-payouts-to-erp
  labels: { domain: finance }
spec:
  version: 1
  description: Stripe payouts → deposits (NetSuite) or journal lines (Business Central), when Stripe pays out.
  parameters:
    type: object
    required: [payments, erp, entity]
    properties:
      payments: { type: string }
      erp: { type: string }
      entity: { enum: [deposit, journal, journalEntry] }
${COMMON_PARAMS}
    additionalProperties: false
  flows:
    - metadata: { name: payouts-to-erp, labels: { domain: finance } }
      spec:
        source: { connection: "\${{ with.payments }}", stream: payouts }
        trigger: { event: payout.paid }
        mapping: mappings/stripe-payout.jsonata
        canonical: settlement
        target: { connection: "\${{ with.erp }}", entity: "\${{ with.entity }}" }
        key: "'stripe-payout-' & id"
        policy: finance-grade
`,
    mappings: { 'stripe-payout.jsonata': M.stripeSettlement('payout', 'params') },
    tests: {},
  },
  {
    name: 'erp-catalog-to-storefront',
    version: 1,
    yaml: `apiVersion: rsync/v1
kind: Template
metadata:
  name: erp-catalog-to-storefront
  labels: { domain: catalog }
spec:
  version: 1
  description: ERP items → storefront products, hourly. The storefront keeps its descriptions (policy).
  parameters:
    type: object
    required: [erp, erpType, storefront]
    properties:
      erp: { type: string }
      erpType: { enum: [netsuite, business-central] }
      storefront: { type: string }
${COMMON_PARAMS}
    additionalProperties: false
  flows:
    - metadata: { name: products-to-storefront, labels: { domain: catalog } }
      spec:
        source: { connection: "\${{ with.erp }}", stream: items }
        trigger: { schedule: { cron: "0 * * * *" } }
        mapping: "mappings/\${{ with.erpType }}-product.jsonata"
        canonical: product
        target: { connection: "\${{ with.storefront }}", entity: product }
        key: "'item-' & $string(id) & '@' & $string(lastmodifieddate ? lastmodifieddate : lastModifiedDateTime)"
        sla: bronze
        batchSize: 100
`,
    mappings: {
      'netsuite-product.jsonata': M.erpProduct('netsuite', 'params'),
      'business-central-product.jsonata': M.erpProduct('business-central', 'params'),
    },
    tests: {},
  },
];

function writeTemplate(w: Writer, t: TemplateDef): void {
  const dir = `templates/${t.name}/${t.version}`;
  w.file(`${dir}/template.yaml`, t.yaml);
  for (const [f, text] of Object.entries(t.mappings)) w.file(`${dir}/mappings/${f}`, text);
  for (const [f, text] of Object.entries(t.tests)) w.file(`${dir}/mappings/${f}`, text);
}

// --- customers -----------------------------------------------------------------------------------------------------

const ADJ = [
  'blue',
  'north',
  'golden',
  'urban',
  'coastal',
  'maple',
  'summit',
  'silver',
  'red',
  'green',
  'bright',
  'quiet',
  'wild',
  'harbor',
  'prairie',
  'alpine',
  'copper',
  'sunny',
  'iron',
  'velvet',
];
const NOUN = [
  'wind',
  'river',
  'fox',
  'oak',
  'peak',
  'stone',
  'bay',
  'field',
  'pine',
  'lake',
  'ridge',
  'meadow',
  'cedar',
  'falcon',
  'harvest',
  'lantern',
  'anchor',
  'willow',
  'bison',
  'comet',
];
const TRADE = [
  'outfitters',
  'goods',
  'traders',
  'supply',
  'market',
  'apparel',
  'home',
  'outdoors',
  'pets',
  'beauty',
  'books',
  'toys',
  'coffee',
  'cycles',
  'garden',
];
const REGIONS = [
  {
    country: 'US',
    currency: 'USD',
    timezones: ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'],
    weight: 6,
  },
  { country: 'CA', currency: 'CAD', timezones: ['America/Toronto', 'America/Vancouver'], weight: 1 },
  { country: 'GB', currency: 'GBP', timezones: ['Europe/London'], weight: 1 },
  { country: 'DE', currency: 'EUR', timezones: ['Europe/Berlin'], weight: 1 },
  { country: 'AU', currency: 'AUD', timezones: ['Australia/Sydney'], weight: 1 },
];
const FIRST = [
  'Ana',
  'Ben',
  'Chloe',
  'Dev',
  'Elif',
  'Farah',
  'Gus',
  'Hana',
  'Ivan',
  'Jo',
  'Kai',
  'Lena',
  'Marco',
  'Nia',
  'Omar',
  'Priya',
];
const LAST = [
  'Nguyen',
  'Smith',
  'Garcia',
  'Kowalski',
  'Okafor',
  'Tanaka',
  'Muller',
  'Rossi',
  'Haddad',
  'Larsen',
  'Silva',
  'Chen',
];

interface Systems {
  storefront: Storefront;
  erp: Erp;
  pos: boolean;
  tax: boolean;
}

interface Customer {
  name: string;
  display: string;
  env: string;
  sys: Systems;
  tz: string;
  country: string;
  currency: string;
  policy: string;
  sla: string;
  /** Freshness of the customer's default SLA (undefined: none). */
  slaFreshnessMs?: number;
  tweaks: M.Tweaks;
  /** Flows live in flows/<domain>/ rather than flows/. */
  byDomain: boolean;
}

type Trigger = { event: string } | { schedule: { cron: string; timezone?: string } } | { manual: true };

interface FlowDef {
  name: string;
  domain: string;
  description: string;
  source: { connection: string; stream: string };
  trigger: Trigger;
  /** The longest gap between two runs of a schedule (for the SLA the flow can promise). */
  gapMs?: number;
  mapping: string;
  canonical: string;
  target: { connection: string; entity: string };
  key: string;
  policy?: string;
  /** An SLA this flow always names. */
  sla?: string;
  batchSize?: number;
  concurrency?: number;
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** The mapping files a customer may need, by file name. */
function mappingText(file: string, c: Customer): string {
  const t = c.tweaks;
  const table: Record<string, () => string> = {
    'shopify-order.jsonata': () => M.shopifyOrder(t),
    'woocommerce-order.jsonata': () => M.woocommerceOrder(t),
    'square-order.jsonata': () => M.squareOrder(t),
    'shopify-order-tax.jsonata': () => M.orderForTax('shopify', t),
    'woocommerce-order-tax.jsonata': () => M.orderForTax('woocommerce', t),
    'shopify-refund.jsonata': () => M.shopifyRefund(t),
    'woocommerce-refund.jsonata': () => M.woocommerceRefund(t),
    'square-refund.jsonata': () => M.squareRefund(t),
    'stripe-refund.jsonata': () => M.stripeRefund(t),
    'shopify-customer.jsonata': () => M.storefrontCustomer('shopify', t),
    'woocommerce-customer.jsonata': () => M.storefrontCustomer('woocommerce', t),
    'netsuite-customer.jsonata': () => M.erpCustomer('netsuite', t),
    'business-central-customer.jsonata': () => M.erpCustomer('business-central', t),
    'netsuite-product.jsonata': () => M.erpProduct('netsuite', t),
    'business-central-product.jsonata': () => M.erpProduct('business-central', t),
    'netsuite-price.jsonata': () => M.erpPrice('netsuite', t),
    'business-central-price.jsonata': () => M.erpPrice('business-central', t),
    'netsuite-inventory.jsonata': () => M.erpInventory('netsuite', t),
    'business-central-inventory.jsonata': () => M.erpInventory('business-central', t),
    'stripe-payout.jsonata': () => M.stripeSettlement('payout', t),
    'stripe-charge.jsonata': () => M.stripeSettlement('charge', t),
    'stripe-balance.jsonata': () => M.stripeSettlement('balance', t),
    'shopify-fulfillment.jsonata': () => M.shopifyFulfillment(t),
  };
  const f = table[file];
  if (!f) throw new Error(`generator: no mapping ${file}`);
  return f();
}

/** Every flow that makes sense for a customer's systems, most important first. */
function candidateFlows(c: Customer, rng: Rng): FlowDef[] {
  const { storefront: sf, erp, pos, tax } = c.sys;
  const shop = sf === 'shopify';
  const ns = erp === 'netsuite';
  const sfName = shop ? 'Shopify' : 'WooCommerce';
  const erpName = ns ? 'NetSuite' : 'Business Central';
  const orderKey = shop ? "'shopify-order-' & admin_graphql_api_id" : "'woo-order-' & $string(id)";
  const itemKey = ns
    ? "'ns-item-' & $string(id) & '@' & lastmodifieddate"
    : "'bc-item-' & id & '@' & lastModifiedDateTime";
  const out: FlowDef[] = [
    {
      name: 'orders-to-erp',
      domain: 'orders',
      description: `New ${sfName} orders become sales orders in ${erpName}.`,
      source: { connection: 'storefront', stream: 'orders' },
      trigger: { event: shop ? 'orders/create' : 'order.created' },
      mapping: `${sf}-order.jsonata`,
      canonical: 'order',
      target: { connection: 'erp', entity: 'salesOrder' },
      key: orderKey,
      batchSize: 50,
    },
    {
      name: 'refunds-to-erp',
      domain: 'orders',
      description: `${sfName} refunds become credit memos in ${erpName}.`,
      // WooCommerce sends no refund webhook: a refund saves its order, whose order.updated carries the refunds.
      source: { connection: 'storefront', stream: shop ? 'refunds' : 'orders' },
      trigger: { event: shop ? 'refunds/create' : 'order.updated' },
      mapping: `${sf}-refund.jsonata`,
      canonical: 'refund',
      target: { connection: 'erp', entity: ns ? 'creditMemo' : 'salesCreditMemo' },
      key: shop ? "'shopify-refund-' & $string(id)" : "'woo-refund-' & $string(refunds[-1].id)",
    },
    {
      name: 'inventory-to-storefront',
      domain: 'inventory',
      description: `${erpName} stock levels → ${sfName}, every 15 minutes.`,
      source: { connection: 'erp', stream: 'inventory' },
      trigger: { schedule: { cron: '*/15 * * * *' } },
      gapMs: 15 * MIN,
      mapping: `${erp}-inventory.jsonata`,
      canonical: 'inventoryLevel',
      target: { connection: 'storefront', entity: shop ? 'inventoryLevel' : 'stock' },
      key: ns ? "item.refName & '@' & lastmodifieddate" : "itemNumber & '@' & lastModifiedDateTime",
      batchSize: 250,
    },
    {
      name: 'products-to-storefront',
      domain: 'catalog',
      description: `${erpName} items → ${sfName} products, hourly. Descriptions stay the storefront's.`,
      source: { connection: 'erp', stream: 'items' },
      trigger: { schedule: { cron: `${rng.int(0, 59)} * * * *` } },
      gapMs: HOUR,
      mapping: `${erp}-product.jsonata`,
      canonical: 'product',
      target: { connection: 'storefront', entity: 'product' },
      key: itemKey,
      batchSize: 100,
    },
    {
      name: 'customers-to-erp',
      domain: 'customers',
      description: `New ${sfName} customers are created in ${erpName}.`,
      source: { connection: 'storefront', stream: 'customers' },
      trigger: { event: shop ? 'customers/create' : 'customer.created' },
      mapping: `${sf}-customer.jsonata`,
      canonical: 'customer',
      target: { connection: 'erp', entity: 'customer' },
      key: `'${shop ? 'shopify' : 'woo'}-customer-' & $string(id)`,
    },
    {
      name: 'payouts-to-erp',
      domain: 'finance',
      description: `Stripe payouts → ${ns ? 'deposits' : 'journal lines'} in ${erpName}.`,
      source: { connection: 'payments', stream: 'payouts' },
      trigger: { event: 'payout.paid' },
      mapping: 'stripe-payout.jsonata',
      canonical: 'settlement',
      target: { connection: 'erp', entity: ns ? 'deposit' : 'journal' },
      key: "'stripe-payout-' & id",
      policy: 'finance-grade',
    },
    {
      name: 'prices-to-storefront',
      domain: 'catalog',
      description: `${erpName} prices (${c.tweaks.priceList}) → ${sfName}, every 30 minutes.`,
      source: { connection: 'erp', stream: 'prices' },
      trigger: { schedule: { cron: '*/30 * * * *' } },
      gapMs: 30 * MIN,
      mapping: `${erp}-price.jsonata`,
      canonical: 'price',
      target: { connection: 'storefront', entity: shop ? 'variantPrice' : 'price' },
      key: ns
        ? "'price-' & item.refName & '@' & lastmodifieddate"
        : "'price-' & itemNumber & '@' & lastModifiedDateTime",
    },
    {
      name: 'order-updates-to-erp',
      domain: 'orders',
      description: `Changes to ${sfName} orders update the ERP's sales orders.`,
      source: { connection: 'storefront', stream: 'orders' },
      trigger: { event: shop ? 'orders/updated' : 'order.updated' },
      mapping: `${sf}-order.jsonata`,
      canonical: 'order',
      target: { connection: 'erp', entity: 'salesOrder' },
      key: shop
        ? "'shopify-order-' & admin_graphql_api_id & '@' & updated_at"
        : "'woo-order-' & $string(id) & '@' & date_modified_gmt",
      concurrency: 2,
    },
    {
      name: 'charges-to-erp',
      domain: 'finance',
      description: `Stripe charges → ${erpName} clearing account, hourly.`,
      source: { connection: 'payments', stream: 'charges' },
      trigger: { schedule: { cron: `${rng.int(0, 59)} * * * *` } },
      gapMs: HOUR,
      mapping: 'stripe-charge.jsonata',
      canonical: 'settlement',
      target: { connection: 'erp', entity: ns ? 'journalEntry' : 'journal' },
      key: "'stripe-charge-' & id",
      policy: 'finance-grade',
    },
    {
      name: 'stripe-refunds-to-erp',
      domain: 'finance',
      description: `Refunds made in Stripe → ${ns ? 'return authorizations' : 'credit memos'} in ${erpName}.`,
      // charge.refunded carries the charge (with its refunds), a record of the charges stream.
      source: { connection: 'payments', stream: 'charges' },
      trigger: { event: 'charge.refunded' },
      mapping: 'stripe-refund.jsonata',
      canonical: 'refund',
      target: { connection: 'erp', entity: ns ? 'creditMemo' : 'salesCreditMemo' },
      key: "'stripe-refund-' & refunds.data[0].id",
    },
    {
      name: 'b2b-customers-to-storefront',
      domain: 'customers',
      description: `B2B accounts kept in ${erpName} → ${sfName} customers, every 2 hours.`,
      source: { connection: 'erp', stream: 'customers' },
      trigger: { schedule: { cron: `${rng.int(0, 59)} */2 * * *` } },
      gapMs: 2 * HOUR,
      mapping: `${erp}-customer.jsonata`,
      canonical: 'customer',
      target: { connection: 'storefront', entity: 'customer' },
      key: `'${ns ? 'ns' : 'bc'}-customer-' & $string(id)`,
    },
    {
      name: 'balance-to-erp',
      domain: 'finance',
      description: 'Daily reconciliation of the Stripe balance.',
      source: { connection: 'payments', stream: 'balanceTransactions' },
      trigger: { schedule: { cron: `${rng.int(0, 59)} ${rng.int(1, 5)} * * *`, timezone: c.tz } },
      gapMs: 26 * HOUR, // daily; a DST change makes one gap 25h
      mapping: 'stripe-balance.jsonata',
      canonical: 'settlement',
      target: { connection: 'erp', entity: ns ? 'journalEntry' : 'journal' },
      key: "'stripe-txn-' & id",
      policy: 'finance-grade',
    },
    {
      name: 'orders-backfill',
      domain: 'orders',
      description: 'Re-sends a window of orders by hand (rsync run --from/--to), after an ERP outage.',
      source: { connection: 'storefront', stream: 'orders' },
      trigger: { manual: true },
      mapping: `${sf}-order.jsonata`,
      canonical: 'order',
      target: { connection: 'erp', entity: 'salesOrder' },
      key: orderKey,
      sla: 'best-effort',
      batchSize: 500,
    },
  ];
  if (shop && ns) {
    out.push({
      // NetSuite item fulfillments are not written by the netsuite connector (a transform of the sales order):
      // paid orders become customer deposits against their sales orders instead.
      name: 'deposits-to-erp',
      domain: 'finance',
      description: 'Shopify orders paid → NetSuite customer deposits against their sales orders.',
      source: { connection: 'storefront', stream: 'orders' },
      trigger: { event: 'orders/paid' },
      mapping: 'shopify-order.jsonata',
      canonical: 'order',
      target: { connection: 'erp', entity: 'customerDeposit' },
      key: "'shopify-deposit-' & $string(id)",
    });
  }
  if (pos) {
    out.splice(
      2,
      0,
      {
        name: 'pos-orders-to-erp',
        domain: 'pos',
        description: `Square store sales → ${ns ? 'cash sales' : 'sales invoices'} in ${erpName}.`,
        source: { connection: 'pos', stream: 'orders' },
        trigger: { event: 'order.created' },
        mapping: 'square-order.jsonata',
        canonical: 'order',
        target: { connection: 'erp', entity: ns ? 'cashSale' : 'salesInvoice' },
        key: "'square-order-' & id",
        batchSize: 100,
      },
      {
        name: 'inventory-to-pos',
        domain: 'pos',
        description: `${erpName} stock levels → Square, every 15 minutes.`,
        source: { connection: 'erp', stream: 'inventory' },
        trigger: { schedule: { cron: '*/15 * * * *' } },
        gapMs: 15 * MIN,
        mapping: `${erp}-inventory.jsonata`,
        canonical: 'inventoryLevel',
        target: { connection: 'pos', entity: 'inventoryCount' },
        key: ns ? "'pos-' & item.refName & '@' & lastmodifieddate" : "'pos-' & itemNumber & '@' & lastModifiedDateTime",
      },
    );
    out.push(
      {
        name: 'pos-refunds-to-erp',
        domain: 'pos',
        description: `Square refunds → credit memos in ${erpName}.`,
        source: { connection: 'pos', stream: 'refunds' },
        trigger: { event: 'refund.created' },
        mapping: 'square-refund.jsonata',
        canonical: 'refund',
        target: { connection: 'erp', entity: ns ? 'creditMemo' : 'salesCreditMemo' },
        key: "'square-refund-' & id",
      },
      {
        name: 'products-to-pos',
        domain: 'pos',
        description: `${erpName} items → the Square catalogue, hourly.`,
        source: { connection: 'erp', stream: 'items' },
        trigger: { schedule: { cron: `${rng.int(0, 59)} * * * *` } },
        gapMs: HOUR,
        mapping: `${erp}-product.jsonata`,
        canonical: 'product',
        target: { connection: 'pos', entity: 'catalogItem' },
        key: `'pos-' & ${itemKey}`,
      },
    );
  }
  if (tax) {
    out.splice(2, 0, {
      name: 'orders-to-tax',
      domain: 'tax',
      description: 'Paid orders are recorded in AvaTax for filing (no customer data is sent).',
      source: { connection: 'storefront', stream: 'orders' },
      trigger: { event: shop ? 'orders/paid' : 'order.updated' },
      mapping: `${sf}-order-tax.jsonata`,
      canonical: 'order',
      target: { connection: 'tax', entity: 'transaction' },
      key: shop ? "'tax-order-' & admin_graphql_api_id" : "'tax-order-' & $string(id)",
    });
    out.push({
      name: 'refunds-to-tax',
      domain: 'tax',
      description: 'Refunds are recorded in AvaTax as return transactions.',
      // WooCommerce sends no refund webhook: a refund saves its order, whose order.updated carries the refunds.
      source: { connection: 'storefront', stream: shop ? 'refunds' : 'orders' },
      trigger: { event: shop ? 'refunds/create' : 'order.updated' },
      mapping: `${sf}-refund.jsonata`,
      canonical: 'refund',
      target: { connection: 'tax', entity: 'transaction' },
      key: shop ? "'tax-refund-' & $string(id)" : "'tax-refund-' & $string(refunds[-1].id)",
    });
  }
  return out;
}

interface TemplateUse {
  template: string;
  flows: string[];
  yaml: string;
}

function templateUses(c: Customer, rng: Rng): TemplateUse[] {
  const { storefront: sf, erp } = c.sys;
  const shop = sf === 'shopify';
  const t = c.tweaks;
  const common = `channel: ${q(t.channel)}, tagPrefix: ${q(t.tagPrefix)}, currency: ${t.currency}`;
  const uses: TemplateUse[] = [];
  if (shop && rng.chance(0.6)) {
    uses.push({
      template: 'shopify-orders-to-erp@1',
      flows: ['orders-to-erp', 'refunds-to-erp'],
      yaml: `    - template: shopify-orders-to-erp@1
      with: { storefront: storefront, erp: erp, refundEntity: ${erp === 'netsuite' ? 'creditMemo' : 'salesCreditMemo'}, ${common} }
${rng.chance(0.3) ? `      patch:\n        orders-to-erp: { batchSize: ${rng.pick([20, 100, 200])} }\n` : ''}`,
    });
  }
  if (rng.chance(0.35)) {
    const version = rng.chance(0.2) ? 1 : 2;
    const cron = rng.chance(0.2) ? '*/10 * * * *' : undefined;
    uses.push({
      template: `erp-inventory-sync@${version}`,
      flows: version === 2 ? ['inventory-to-storefront', 'prices-to-storefront'] : ['inventory-to-storefront'],
      yaml: `    - template: erp-inventory-sync@${version}
      with:
        erp: erp
        erpType: ${erp}
        storefront: storefront
        storefrontEntity: ${shop ? 'inventoryLevel' : 'stock'}
${version === 2 ? `        priceEntity: ${shop ? 'variantPrice' : 'price'}\n` : ''}${cron ? `        cron: ${q(cron)}\n` : ''}        locationId: ${q(t.locationId)}
        priceList: ${t.priceList}
        currency: ${t.currency}
`,
    });
  }
  if (rng.chance(0.25)) {
    uses.push({
      template: 'stripe-payouts-to-erp@1',
      flows: ['payouts-to-erp'],
      yaml: `    - template: stripe-payouts-to-erp@1
      with: { payments: payments, erp: erp, entity: ${erp === 'netsuite' ? 'deposit' : 'journal'} }
`,
    });
  }
  if (rng.chance(0.2)) {
    uses.push({
      template: 'erp-catalog-to-storefront@1',
      flows: ['products-to-storefront'],
      yaml: `    - template: erp-catalog-to-storefront@1
      with: { erp: erp, erpType: ${erp}, storefront: storefront, currency: ${t.currency}, tagPrefix: ${q(t.tagPrefix)} }
`,
    });
  }
  return uses;
}

function newCustomer(i: number, rng: Rng, storefronts: Storefront[]): Customer {
  const adj = rng.pick(ADJ);
  const noun = rng.pick(NOUN);
  const trade = rng.pick(TRADE);
  const name = `${adj}-${noun}-${trade}-${String(i + 1).padStart(4, '0')}`;
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  const display = `${cap(adj)} ${cap(noun)} ${cap(trade)}${i >= ADJ.length * NOUN.length ? ` ${i + 1}` : ''}`;
  const total = REGIONS.reduce((n, r) => n + r.weight, 0);
  let roll = rng.next() * total;
  const region = REGIONS.find((r) => (roll -= r.weight) < 0) ?? REGIONS[0];
  const storefront =
    storefronts.length > 1 ? (rng.chance(0.65) ? storefronts[0] : rng.pick(storefronts.slice(1))) : storefronts[0];
  const extra = rng.next();
  const sys: Systems = {
    storefront,
    erp: rng.chance(0.6) ? 'netsuite' : 'business-central',
    pos: extra < 0.3,
    tax: extra >= 0.3 && extra < 0.55,
  };
  const slaRoll = rng.next();
  const localSla = slaRoll < 0.05;
  const sla = localSla ? 'enterprise' : slaRoll < 0.2 ? 'platinum' : slaRoll < 0.65 ? 'gold' : 'silver';
  const policyRoll = rng.next();
  const policy = policyRoll < 0.1 ? 'strict' : policyRoll < 0.4 ? 'finance-grade' : 'standard';
  return {
    name,
    display,
    env: name.replace(/-/g, '_').toUpperCase(),
    sys,
    tz: rng.pick(region.timezones),
    country: region.country,
    currency: region.currency,
    policy,
    sla,
    slaFreshnessMs: localSla ? 10 * MIN : SLAS[sla].freshnessMs,
    tweaks: {
      channel: rng.chance(0.5) ? 'web' : `${adj}-${noun}-web`,
      tagPrefix: rng.chance(0.5) ? '' : `${adj}:`,
      locationId:
        storefront === 'shopify' ? `gid://shopify/Location/${rng.int(10_000_000, 99_999_999)}` : `wh-${rng.int(1, 9)}`,
      priceList: rng.pick(['BASE', 'RETAIL', 'MSRP', `${region.country}-RETAIL`]),
      subsidiary: String(rng.int(1, 12)),
      currency: region.currency,
    },
    byDomain: rng.chance(0.3),
  };
}

function writeCustomer(
  w: Writer,
  i: number,
  o: Required<GenerateOptions>,
): { localFlows: number; templateFlows: number; connections: number } {
  const rng = new Rng(customerSeed(o.seed, i));
  const c = newCustomer(i, rng, o.storefronts);
  const dir = `integrations/${c.name}`;

  // Templates first (as many as fit), then local flows up to flowsPerCustomer.
  const uses: TemplateUse[] = [];
  let fromTemplates = 0;
  for (const u of templateUses(c, rng)) {
    if (fromTemplates + u.flows.length > o.flowsPerCustomer) continue;
    uses.push(u);
    fromTemplates += u.flows.length;
  }
  const taken = new Set(uses.flatMap((u) => u.flows));
  const candidates = candidateFlows(c, rng).filter((f) => !taken.has(f.name));
  // The first four candidates are the core of any retail integration; the rest are drawn at random.
  const core = candidates.slice(0, 4);
  const rest = rng.shuffle(candidates.slice(4));
  const pool = [...core, ...rest];
  const wanted = o.flowsPerCustomer - fromTemplates;
  const flows: FlowDef[] = [];
  for (let k = 0; k < wanted; k++) {
    const base = pool[k % pool.length];
    const round = Math.floor(k / pool.length);
    // More flows than distinct kinds: repeat kinds as regional variants (orders-to-erp-2, …).
    flows.push(
      round === 0
        ? base
        : { ...base, name: `${base.name}-${round + 1}`, description: `${base.description} (variant ${round + 1})` },
    );
  }

  // customer.yaml
  const contacts = Array.from({ length: rng.int(1, 3) }, (_, k) => {
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const role = ['IT lead', 'finance', 'e-commerce manager'][k];
    return `    - { name: ${first} ${last}, email: ${first.toLowerCase()}.${last.toLowerCase()}@${c.name}.example, role: ${role} }`;
  }).join('\n');
  w.file(
    `${dir}/customer.yaml`,
    `# yaml-language-server: $schema=../../schemas/document.schema.json
apiVersion: rsync/v1
kind: Customer
metadata:
  name: ${c.name}
  labels: { region: ${c.country.toLowerCase()}, tier: ${rng.pick(['smb', 'mid-market', 'enterprise'])} }
spec:
  displayName: ${c.display}
  timezone: ${c.tz}
  stores: ${rng.int(1, 250)}
  country: ${c.country}
  currency: ${c.currency}
  policy: ${c.policy}
  sla: ${c.sla}
  contacts:
${contacts}
${uses.length ? `  uses:\n${uses.map((u) => u.yaml).join('')}` : ''}`,
  );

  // Local policy / SLA.
  if (c.policy === 'strict') {
    w.file(
      `${dir}/policies/strict.yaml`,
      `apiVersion: rsync/v1
kind: Policy
metadata: { name: strict, description: ${c.display} audits every write to its ERP }
spec:
  ownership: { product: erp, price: erp, inventoryLevel: erp, product.description: storefront }
  retry: { maxAttempts: 12, backoff: exponential, initial: 10s, max: 1h }
  deadLetter: { retain: 180d }
  pii: { fields: [customer.email, customer.phone, customer.firstName, customer.lastName, billingAddress], forbidTargets: [tax], mask: true }
  retention: { runs: 180d, ledger: 2555d }
  approvals: { staging: 1, production: 2 }
`,
    );
  }
  if (c.sla === 'enterprise') {
    w.file(
      `${dir}/slas/enterprise.yaml`,
      `apiVersion: rsync/v1
kind: SLA
metadata: { name: enterprise }
spec: { freshness: 10m, latencyP95: 45s, successRate: "99.95%", supportTier: enterprise }
`,
    );
  }

  // Connections.
  const conns: [string, string][] = [];
  const secret = (what: string) =>
    rng.chance(0.8)
      ? `{ secretRef: "env:${c.env}_${what}" }`
      : `{ secretRef: "file:${c.name}/${what.toLowerCase().replace(/_/g, '-')}" }`;
  if (c.sys.storefront === 'shopify') {
    conns.push([
      'storefront',
      `spec:
  connector: shopify
  description: The ${c.display} Shopify store
  settings:
    shop: ${c.name}.myshopify.com
    apiVersion: "${rng.pick(['2026-01', '2026-04', '2026-07'])}"
    accessToken: ${secret('SHOPIFY_TOKEN')}
    webhookSecret: ${secret('SHOPIFY_WEBHOOK_SECRET')}
    locationId: ${q(c.tweaks.locationId)}
environments:
  staging:
    settings: { shop: ${c.name}-staging.myshopify.com }
`,
    ]);
  } else {
    conns.push([
      'storefront',
      `spec:
  connector: woocommerce
  description: The ${c.display} WooCommerce store
  settings:
    url: https://shop.${c.name}.example
    consumerKey: ${secret('WOO_CONSUMER_KEY')}
    consumerSecret: ${secret('WOO_CONSUMER_SECRET')}
    webhookSecret: ${secret('WOO_WEBHOOK_SECRET')}
environments:
  staging:
    settings: { url: https://staging.shop.${c.name}.example }
`,
    ]);
  }
  if (c.sys.erp === 'netsuite') {
    const account = String(rng.int(1_000_000, 9_999_999));
    conns.push([
      'erp',
      `spec:
  connector: netsuite
  settings:
    accountId: "${account}"
    consumerKey: ${secret('NS_CONSUMER_KEY')}
    consumerSecret: ${secret('NS_CONSUMER_SECRET')}
    tokenId: ${secret('NS_TOKEN_ID')}
    tokenSecret: ${secret('NS_TOKEN_SECRET')}
    subsidiary: "${c.tweaks.subsidiary}"
environments:
  staging:
    settings: { accountId: "${account}_SB1" }
`,
    ]);
  } else {
    conns.push([
      'erp',
      `spec:
  connector: business-central
  settings:
    tenantId: ${q(hexId(rng))}
    environment: Production
    companyId: ${q(hexId(rng))}
    clientId: ${q(hexId(rng))}
    clientSecret: ${secret('BC_CLIENT_SECRET')}
environments:
  staging:
    settings: { environment: Sandbox }
`,
    ]);
  }
  conns.push([
    'payments',
    `spec:
  connector: stripe
  settings:
    apiKey: ${secret('STRIPE_API_KEY')}
    webhookSecret: ${secret('STRIPE_WEBHOOK_SECRET')}
${rng.chance(0.3) ? `    account: acct_${rng.int(1e9, 9e9)}\n` : ''}`,
  ]);
  if (c.sys.pos) {
    conns.push([
      'pos',
      `spec:
  connector: square
  description: In-store point of sale
  settings:
    environment: production
    accessToken: ${secret('SQUARE_TOKEN')}
    webhookSignatureKey: ${secret('SQUARE_SIGNATURE_KEY')}
    locationIds: [${Array.from({ length: rng.int(1, 4) }, () => `L${rng.int(100000, 999999)}`).join(', ')}]
environments:
  staging:
    settings: { environment: sandbox }
`,
    ]);
  }
  if (c.sys.tax) {
    conns.push([
      'tax',
      `spec:
  connector: avalara
  settings:
    environment: production
    accountId: "${rng.int(1_000_000_000, 2_000_000_000)}"
    licenseKey: ${secret('AVALARA_LICENSE_KEY')}
    companyCode: ${c.name.split('-').slice(0, 2).join('').toUpperCase()}
environments:
  staging:
    settings: { environment: sandbox }
`,
    ]);
  }
  for (const [name, body] of conns) {
    w.file(
      `${dir}/connections/${name}.yaml`,
      `apiVersion: rsync/v1\nkind: Connection\nmetadata: { name: ${name} }\n${body}`,
    );
  }

  // Flows and the mappings they use.
  const mappings = new Set<string>();
  for (const f of flows) {
    mappings.add(f.mapping);
    const sub = c.byDomain ? `flows/${f.domain}` : 'flows';
    const up = c.byDomain ? '../../' : '../';
    w.file(`${dir}/${sub}/${f.name}.yaml`, flowYaml(c, f, up, rng));
  }
  for (const m of [...mappings].sort()) w.file(`${dir}/mappings/${m}`, mappingText(m, c));
  // A mapping test beside the order mapping, for some customers.
  const orderMapping = [...mappings].find((m) => m.endsWith('-order.jsonata'));
  if (orderMapping && rng.chance(0.2)) {
    w.file(
      `${dir}/mappings/${orderMapping.replace('.jsonata', '.test.yaml')}`,
      `apiVersion: rsync/v1
kind: MappingTest
metadata: { name: ${orderMapping.replace('.jsonata', '')} }
spec:
  mapping: ${orderMapping}
  canonical: order
  cases:
    - name: a paid order
      input: { value: { id: 1001, currency: ${c.currency}, created_at: "2026-03-14T09:30:00Z", total_price: "10.00", line_items: [{ id: 1, sku: SKU-1, quantity: 1, price: "10.00" }] } }
      expect: { valid: order }
`,
    );
  }
  return { localFlows: flows.length, templateFlows: fromTemplates, connections: conns.length };
}

function hexId(rng: Rng): string {
  const h = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(0, 15)]).join('');
  return `${h(8)}-${h(4)}-${h(4)}-${h(4)}-${h(12)}`;
}

/** The SLA a flow names: its own, or one its schedule can meet when the customer's default cannot. */
function slaFor(c: Customer, f: FlowDef): string | undefined {
  if (f.sla) return f.sla;
  if (f.gapMs === undefined || c.slaFreshnessMs === undefined || f.gapMs <= c.slaFreshnessMs) return undefined;
  if (f.gapMs <= 15 * MIN) return 'gold';
  if (f.gapMs <= 30 * MIN) return 'silver';
  if (f.gapMs <= 3 * HOUR) return 'bronze';
  return 'best-effort';
}

function flowYaml(c: Customer, f: FlowDef, up: string, rng: Rng): string {
  const trig =
    'event' in f.trigger
      ? `{ event: ${f.trigger.event} }`
      : 'schedule' in f.trigger
        ? `{ schedule: { cron: ${q(f.trigger.schedule.cron)}${f.trigger.schedule.timezone ? `, timezone: ${f.trigger.schedule.timezone}` : ''} } }`
        : '{ manual: true }';
  const sla = slaFor(c, f);
  const lines = [
    `apiVersion: rsync/v1`,
    `kind: Flow`,
    `metadata:`,
    `  name: ${f.name}`,
    `  labels: { domain: ${f.domain}, owner: ${rng.pick(['team-orders', 'team-catalog', 'team-finance', 'team-ops'])} }`,
    `spec:`,
    `  description: ${q(f.description)}`,
    `  source: { connection: ${f.source.connection}, stream: ${f.source.stream} }`,
    `  trigger: ${trig}`,
    `  mapping: ${up}mappings/${f.mapping}`,
    `  canonical: ${f.canonical}`,
    `  target: { connection: ${f.target.connection}, entity: ${f.target.entity} }`,
    `  key: ${q(f.key)}`,
  ];
  if (f.policy) lines.push(`  policy: ${f.policy}`);
  if (sla) lines.push(`  sla: ${sla}`);
  if (f.batchSize) lines.push(`  batchSize: ${f.batchSize}`);
  if (f.concurrency) lines.push(`  concurrency: ${f.concurrency}`);
  // Staging runs event flows by hand for some customers (their test stores send no webhooks).
  if ('event' in f.trigger && rng.chance(0.15)) {
    lines.push(`environments:`, `  staging: { trigger: { manual: true }, sla: best-effort }`);
  }
  return lines.join('\n') + '\n';
}
