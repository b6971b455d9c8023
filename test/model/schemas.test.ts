/**
 * The JSON Schemas in schemas/: they compile in strict Ajv, the examples of schemas/README.md validate, bad documents
 * fail with the expected keyword and path, the canonical model rejects numbers for money, and the generated
 * TypeScript types are up to date.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../../engine/connectors/catalog.js';
import { CANONICAL_ENTITIES } from '../../engine/model/canonical.js';
import { generate } from '../../engine/model/gen-types.js';
import type {
  canonical,
  Customer,
  Flow,
  MappingTest,
  Policy,
  RsyncDocument,
  Template,
} from '../../engine/model/generated/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCHEMAS = path.join(ROOT, 'schemas');
const BASE = 'https://rsync.dev/schemas/v1/';

type Json = Record<string, unknown>;

interface SchemaFile {
  rel: string;
  schema: Json;
}

function loadSchemas(): SchemaFile[] {
  const out: SchemaFile[] = [];
  for (const sub of ['', 'canonical']) {
    for (const f of readdirSync(path.join(SCHEMAS, sub)).sort()) {
      if (!f.endsWith('.schema.json')) continue;
      const rel = sub ? `${sub}/${f}` : f;
      out.push({ rel, schema: JSON.parse(readFileSync(path.join(SCHEMAS, rel), 'utf8')) as Json });
    }
  }
  return out;
}

const files = loadSchemas();

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  for (const f of files) ajv.addSchema(f.schema);
  return ajv;
}

let ajv: Ajv2020;
beforeAll(() => {
  ajv = newAjv();
});

/** Validate against the schema with this $id (relative to the base); returns the errors ([] when valid). */
function errorsOf(id: string, data: unknown): ErrorObject[] {
  const validate = ajv.getSchema(BASE + id);
  if (!validate) throw new Error(`no schema ${id}`);
  return validate(data) ? [] : [...(validate.errors ?? [])];
}

const brief = (errors: ErrorObject[]) => errors.map((e) => `${e.instancePath || '/'} ${e.keyword} ${e.message ?? ''}`);

function expectError(errors: ErrorObject[], want: { keyword: string; instancePath: string; params?: Json }): void {
  const hit = errors.find(
    (e) =>
      e.keyword === want.keyword &&
      e.instancePath === want.instancePath &&
      Object.entries(want.params ?? {}).every(([k, v]) => JSON.stringify(e.params[k]) === JSON.stringify(v)),
  );
  expect(
    hit,
    `expected ${want.keyword} at ${want.instancePath || '/'}; got:\n${brief(errors).join('\n')}`,
  ).toBeDefined();
}

const clone = <T>(v: T): T => structuredClone(v);

// ---------------------------------------------------------------------------------------------------------------
// Valid documents, typed with the generated types: the types and the schemas must agree on them.

const flow: Flow = {
  apiVersion: 'rsync/v1',
  kind: 'Flow',
  metadata: { name: 'orders-to-erp', labels: { domain: 'orders' } },
  spec: {
    source: { connection: 'shopify', stream: 'orders' },
    trigger: { schedule: { cron: '*/15 * * * *', timezone: 'America/Chicago' } },
    mapping: '../mappings/order-to-canonical.jsonata',
    canonical: 'order',
    target: { connection: 'netsuite', entity: 'salesOrder' },
    key: "'shopify-order-' & admin_graphql_api_id",
    policy: 'finance-grade',
    sla: 'gold',
    batchSize: 100,
    concurrency: 4,
    enabled: true,
  },
  environments: { staging: { trigger: { manual: true } } },
};

const customer: Customer = {
  apiVersion: 'rsync/v1',
  kind: 'Customer',
  metadata: { name: 'northwind', labels: { region: 'us' }, annotations: { owner: 'jane' }, description: 'A retailer.' },
  spec: {
    displayName: 'Northwind Traders',
    timezone: 'America/Chicago',
    stores: 60,
    country: 'US',
    currency: 'USD',
    tier: 'enterprise',
    policy: 'finance-grade',
    sla: 'gold',
    contacts: [{ name: 'Jane Doe', email: 'jane@northwind.example', role: 'IT lead' }],
    uses: [
      {
        template: 'shopify-orders-to-erp@1',
        with: { storefront: 'shopify', erp: 'netsuite' },
        prefix: 'eu-',
        patch: { 'orders-to-erp': { sla: 'platinum' } },
      },
    ],
  },
};

const policy: Policy = {
  apiVersion: 'rsync/v1',
  kind: 'Policy',
  metadata: { name: 'finance-grade' },
  spec: {
    ownership: { order: 'shopify', 'product.description': 'shopify' },
    retry: { maxAttempts: 8, backoff: 'exponential', initial: '2s', max: '10m' },
    deadLetter: { retain: '90d' },
    pii: { fields: ['customer.email'], forbidTargets: ['avalara'], mask: true },
    retention: { runs: '30d', ledger: '400d' },
    approvals: { production: 1 },
  },
};

const mappingTest: MappingTest = {
  apiVersion: 'rsync/v1',
  kind: 'MappingTest',
  metadata: { name: 'shopify-order' },
  spec: {
    mapping: 'shopify-order.jsonata',
    canonical: 'order',
    cases: [
      { name: 'fixture', input: { file: 'fixtures/order.json', path: 'response' }, expect: { valid: 'order' } },
      { name: 'inline', input: { value: { id: 1 } }, output: { externalId: '1' } },
      { name: 'filtered', input: { value: null }, output: null },
      { name: 'from a file', input: { value: [1, 2] }, outputFile: 'expected/order.json', params: { erpEntity: 'x' } },
    ],
  },
};

const order: canonical.Order = {
  externalId: 'gid://shopify/Order/5512',
  number: '#1001',
  channel: 'web',
  createdAt: '2026-03-14T09:30:00-05:00',
  currency: 'USD',
  customer: { externalId: '77', email: 'ann@example.com', firstName: 'Ann', lastName: 'Lee' },
  billingAddress: { line1: '1 Main St', city: 'Chicago', regionCode: 'IL', postalCode: '60601', country: 'US' },
  shippingAddress: { line1: '1 Main St', city: 'Chicago', regionCode: 'IL', postalCode: '60601', country: 'US' },
  lines: [
    {
      externalId: '1',
      sku: 'TEE-L',
      title: 'Tee, large',
      quantity: 2,
      unitPrice: '20.00',
      discount: '4.00',
      tax: '2.25',
      total: '36.00',
    },
  ],
  taxes: [{ title: 'IL State Tax', rate: '0.0625', amount: '2.25' }],
  discounts: [{ code: 'SPRING', amount: '4.00', type: 'fixed' }],
  shipping: [{ title: 'Standard', amount: '5.00', tax: '0.00' }],
  subtotal: '36.00',
  discountTotal: '4.00',
  taxTotal: '2.25',
  shippingTotal: '5.00',
  total: '43.25',
  financialStatus: 'paid',
  fulfillmentStatus: 'unfulfilled',
  tags: ['vip'],
  note: 'gift wrap',
};

const canonicalExamples: { [E in (typeof CANONICAL_ENTITIES)[number]]: unknown } = {
  product: {
    id: '101',
    sku: 'TEE',
    title: 'Tee',
    vendor: 'Acme',
    status: 'active',
    currency: 'USD',
    variants: [
      {
        sku: 'TEE-L',
        title: 'Large',
        barcode: '0123456789012',
        price: '20.00',
        compareAtPrice: '25.00',
        weight: 0.2,
        weightUnit: 'kg',
        options: { Size: 'L' },
      },
    ],
    tags: ['summer'],
  } satisfies canonical.Product,
  price: {
    sku: 'TEE-L',
    amount: '19.99',
    currency: 'USD',
    priceList: 'retail',
    compareAt: '25.00',
    effectiveFrom: '2026-04-01T00:00:00Z',
  } satisfies canonical.Price,
  inventoryLevel: {
    sku: 'TEE-L',
    locationId: 'chicago-01',
    available: -2,
    onHand: 3,
    updatedAt: '2026-03-14T09:30:00Z',
  } satisfies canonical.InventoryLevel,
  order,
  refund: {
    externalId: 'r1',
    orderExternalId: 'gid://shopify/Order/5512',
    createdAt: '2026-03-15T10:00:00Z',
    currency: 'USD',
    reason: 'damaged',
    lines: [{ sku: 'TEE-L', quantity: 1, amount: '18.00', restock: false }],
    shipping: '0.00',
    tax: '1.13',
    total: '19.13',
    transactions: [{ externalId: 't1', gateway: 'shopify_payments', amount: '19.13', status: 'success' }],
  } satisfies canonical.Refund,
  customer: {
    externalId: '77',
    email: 'ann@example.com',
    phone: '+1 312 555 0100',
    firstName: 'Ann',
    lastName: 'Lee',
    addresses: [{ line1: '1 Main St', city: 'Chicago', country: 'US' }],
    acceptsMarketing: false,
    createdAt: '2026-01-02T03:04:05Z',
  } satisfies canonical.Customer,
  fulfillment: {
    externalId: 'f1',
    orderExternalId: 'gid://shopify/Order/5512',
    status: 'success',
    trackingNumbers: ['1Z999'],
    carrier: 'UPS',
    lines: [{ sku: 'TEE-L', quantity: 2 }],
    createdAt: '2026-03-15T10:00:00Z',
    locationId: 'chicago-01',
  } satisfies canonical.Fulfillment,
  settlement: {
    externalId: 'po_1',
    source: 'stripe',
    currency: 'USD',
    grossAmount: '100.00',
    fees: '3.20',
    netAmount: '96.80',
    arrivalDate: '2026-03-16',
    status: 'paid',
    transactions: [{ externalId: 'ch_1', type: 'charge', amount: '100.00', fee: '3.20', net: '96.80' }],
  } satisfies canonical.Settlement,
  journalEntry: {
    externalId: 'po_1',
    date: '2026-03-16',
    currency: 'USD',
    memo: 'Stripe payout po_1',
    lines: [
      { account: '1010', debit: '96.80', dimensions: { location: 'chicago-01' } },
      { account: '6100', debit: '3.20' },
      { account: '1200', credit: '100.00', memo: 'clearing' },
    ],
  } satisfies canonical.JournalEntry,
};

// ---------------------------------------------------------------------------------------------------------------

describe('schema files', () => {
  it('are all there', () => {
    const names = files.map((f) => f.rel);
    for (const kind of [
      'defs',
      'workspace',
      'customer',
      'connection',
      'flow',
      'policy',
      'sla',
      'template',
      'mapping-test',
      'document',
    ]) {
      expect(names).toContain(`${kind}.schema.json`);
    }
    expect(names).toContain('canonical/defs.schema.json');
    for (const entity of CANONICAL_ENTITIES) expect(names).toContain(`canonical/${entity}.schema.json`);
  });

  it.each(files.map((f) => [f.rel, f.schema] as const))(
    '%s has $schema, the $id of its path and a title',
    (rel, schema) => {
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toBe(BASE + rel);
      expect(typeof schema.title).toBe('string');
      expect(typeof schema.description).toBe('string');
    },
  );

  it.each(files.map((f) => [f.rel, f.schema] as const))('%s compiles in strict Ajv (allErrors)', (_rel, schema) => {
    const fresh = newAjv();
    expect(() => fresh.getSchema(schema.$id as string)).not.toThrow();
    expect(fresh.getSchema(schema.$id as string)).toBeTypeOf('function');
  });

  it('describe every property (editors show the descriptions)', () => {
    const missing: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      const o = node as Json;
      if (typeof o.properties === 'object' && o.properties !== null) {
        for (const [k, v] of Object.entries(o.properties as Json)) {
          if (v === true) continue; // `properties: { x: true }` in a oneOf branch: declared by the parent
          const s = v as Json;
          // a $ref without its own description takes the referenced definition's
          if (typeof s.description !== 'string' && typeof s.$ref !== 'string') missing.push(`${where}/properties/${k}`);
        }
      }
      for (const [k, v] of Object.entries(o)) if (k !== 'if') walk(v, `${where}/${k}`); // `if` only tests a discriminator
    };
    for (const f of files) walk(f.schema, f.rel + '#');
    expect(missing).toEqual([]);
  });

  it('have every $def of defs.schema.json described', () => {
    for (const f of files) {
      const defs = (f.schema.$defs ?? {}) as Record<string, Json>;
      for (const [k, d] of Object.entries(defs)) {
        if (typeof d.$ref === 'string') continue; // an alias
        expect(typeof d.description, `${f.rel}#/$defs/${k}`).toBe('string');
        expect(typeof d.title, `${f.rel}#/$defs/${k}`).toBe('string');
      }
    }
  });

  it('name the canonical entities of the catalogue', () => {
    const defs = files.find((f) => f.rel === 'defs.schema.json')!.schema.$defs as Record<string, Json>;
    expect(defs.canonicalEntity!.enum).toEqual([...CANONICAL_ENTITIES]);
  });
});

describe('the examples of schemas/README.md', () => {
  const readme = readFileSync(path.join(SCHEMAS, 'README.md'), 'utf8');
  const examples: { kind: string; doc: Json; block: number }[] = [];
  let block = 0;
  for (const m of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    block++;
    for (const d of parseAllDocuments(m[1]!)) {
      expect(d.errors, `README yaml block ${block}`).toEqual([]);
      const value: unknown = d.toJS();
      // skip blocks that are not full documents (the editor-completion comment line)
      if (typeof value !== 'object' || value === null || !('kind' in value)) continue;
      examples.push({ kind: String((value as Json).kind), doc: value as Json, block });
    }
  }

  it('cover every kind', () => {
    expect(new Set(examples.map((e) => e.kind))).toEqual(
      new Set([
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
      ]),
    );
  });

  const file: Record<string, string> = {
    Workspace: 'workspace',
    Customer: 'customer',
    Connection: 'connection',
    Flow: 'flow',
    Policy: 'policy',
    SLA: 'sla',
    Alert: 'alert',
    Reconciliation: 'reconciliation',
    Rollout: 'rollout',
    Template: 'template',
    MappingTest: 'mapping-test',
  };

  it.each(examples.map((e) => [e.kind, e.block, e.doc] as const))(
    '%s (yaml block %i) is valid',
    (kind, _block, doc) => {
      expect(brief(errorsOf(`${file[kind]}.schema.json`, doc))).toEqual([]);
      expect(brief(errorsOf('document.schema.json', doc))).toEqual([]);
    },
  );

  it('the template example, once substituted, is a valid Flow', () => {
    const template = examples.find((e) => e.kind === 'Template')!.doc as unknown as Template;
    const params: Json = { storefront: 'shopify', erp: 'netsuite', erpEntity: 'salesOrder' };
    const substitute = (v: unknown): unknown => {
      if (typeof v === 'string') {
        const whole = /^\$\{\{\s*with\.(\w+)\s*\}\}$/.exec(v);
        if (whole) return params[whole[1]!];
        return v.replace(/\$\{\{\s*with\.(\w+)\s*\}\}/g, (_m, k: string) => String(params[k]));
      }
      if (Array.isArray(v)) return v.map(substitute);
      if (typeof v === 'object' && v !== null)
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x)]));
      return v;
    };
    for (const f of template.spec.flows) {
      const doc = { apiVersion: 'rsync/v1', kind: 'Flow', metadata: f.metadata, spec: substitute(f.spec) };
      expect(brief(errorsOf('flow.schema.json', doc))).toEqual([]);
    }
  });
});

describe('valid documents', () => {
  it.each([
    ['flow', flow],
    ['customer', customer],
    ['policy', policy],
    ['mapping-test', mappingTest],
  ] as const)('%s', (id, doc) => {
    expect(brief(errorsOf(`${id}.schema.json`, doc))).toEqual([]);
    expect(brief(errorsOf('document.schema.json', doc satisfies RsyncDocument))).toEqual([]);
  });

  it('every trigger form', () => {
    for (const trigger of [
      { event: 'orders/create' },
      { schedule: { cron: '@hourly' } },
      { schedule: { cron: '0 */5 * * * *' } },
      { manual: true },
    ]) {
      const doc = clone(flow);
      doc.spec.trigger = trigger as Flow['spec']['trigger'];
      expect(brief(errorsOf('flow.schema.json', doc))).toEqual([]);
    }
  });

  it("a connection's settings follow its connector's settings schema, and stay open for a connector not in the catalogue", () => {
    const doc = {
      apiVersion: 'rsync/v1',
      kind: 'Connection',
      metadata: { name: 'erp' },
      spec: { connector: 'acme-erp', settings: { anything: { goes: [1, 2] } }, description: 'a plugin of its own' },
      environments: { staging: { settings: { accountId: '123_SB1' } } },
    };
    expect(brief(errorsOf('connection.schema.json', doc))).toEqual([]);
    // connection-settings.schema.json, generated from the catalogue: NetSuite's settings, as an editor checks them
    const netsuite = { ...doc, spec: { ...doc.spec, connector: 'netsuite' } };
    expect(brief(errorsOf('connection.schema.json', netsuite))).toContain(
      "/spec/settings required must have required property 'accountId'",
    );
    netsuite.spec.settings = {
      accountId: '123',
      consumerKey: { secretRef: 'env:K' },
      consumerSecret: { secretRef: 'env:S' },
      tokenId: { secretRef: 'env:T' },
      tokenSecret: { secretRef: 'env:U' },
    } as never;
    expect(brief(errorsOf('connection.schema.json', netsuite))).toEqual([]);
  });

  it.each(Object.entries(canonicalExamples))('canonical %s', (entity, record) => {
    expect(brief(errorsOf(`canonical/${entity}.schema.json`, record))).toEqual([]);
  });
});

describe('bad documents', () => {
  it('an unknown field is an additionalProperties error naming it', () => {
    const doc = clone(flow) as unknown as Json & { spec: Json };
    doc.spec.shedule = '*/5 * * * *';
    const errors = errorsOf('flow.schema.json', doc);
    expectError(errors, {
      keyword: 'additionalProperties',
      instancePath: '/spec',
      params: { additionalProperty: 'shedule' },
    });
    // and through document.schema.json too
    expectError(errorsOf('document.schema.json', doc), {
      keyword: 'additionalProperties',
      instancePath: '/spec',
      params: { additionalProperty: 'shedule' },
    });
  });

  it('unknown fields at every level are errors', () => {
    const cases: [string, (d: Json) => void, string, string][] = [
      ['flow', (d) => ((d as { extra?: number }).extra = 1), '', 'extra'],
      ['flow', (d) => (((d.metadata as Json).owner as string) = 'x'), '/metadata', 'owner'],
      ['flow', (d) => ((((d.spec as Json).source as Json).table as string) = 'x'), '/spec/source', 'table'],
      ['flow', (d) => ((((d.spec as Json).trigger as Json).cron as string) = '* * * * *'), '/spec/trigger', 'cron'],
      ['customer', (d) => ((((d.spec as Json).uses as Json[])[0]!.params as Json) = {}), '/spec/uses/0', 'params'],
      ['policy', (d) => ((((d.spec as Json).retry as Json).jitter as boolean) = true), '/spec/retry', 'jitter'],
    ];
    const docs: Record<string, unknown> = { flow, customer, policy };
    for (const [id, mutate, instancePath, field] of cases) {
      const doc = clone(docs[id]) as Json;
      mutate(doc);
      expectError(errorsOf(`${id}.schema.json`, doc), {
        keyword: 'additionalProperties',
        instancePath,
        params: { additionalProperty: field },
      });
    }
  });

  it('a number where money is expected', () => {
    const bad = clone(order) as unknown as Json;
    bad.total = 43.25;
    ((bad.lines as Json[])[0] as Json).unitPrice = 20;
    const errors = errorsOf('canonical/order.schema.json', bad);
    expectError(errors, { keyword: 'type', instancePath: '/total', params: { type: 'string' } });
    expectError(errors, { keyword: 'type', instancePath: '/lines/0/unitPrice', params: { type: 'string' } });
  });

  it('money as a JS number is rejected everywhere, and so is a malformed decimal string', () => {
    expectError(errorsOf('defs.schema.json#/$defs/money', 10), { keyword: 'type', instancePath: '' });
    expectError(errorsOf('canonical/defs.schema.json#/$defs/money', 10.5), { keyword: 'type', instancePath: '' });
    for (const s of ['1,000.00', '10.', '$10', '1e3', '']) {
      expectError(errorsOf('defs.schema.json#/$defs/money', s), { keyword: 'pattern', instancePath: '' });
    }
    for (const s of ['0', '-5.00', '409.94']) expect(errorsOf('defs.schema.json#/$defs/money', s)).toEqual([]);
    const price = { sku: 'A', amount: 9.99, currency: 'USD' };
    expectError(errorsOf('canonical/price.schema.json', price), { keyword: 'type', instancePath: '/amount' });
    const entry = clone(canonicalExamples.journalEntry) as { lines: Json[] };
    entry.lines[0]!.debit = 96.8;
    expectError(errorsOf('canonical/journalEntry.schema.json', entry), {
      keyword: 'type',
      instancePath: '/lines/0/debit',
    });
  });

  it('a trigger with both event and schedule', () => {
    const doc = clone(flow);
    doc.spec.trigger = {
      event: 'orders/create',
      schedule: { cron: '*/5 * * * *' },
    } as unknown as Flow['spec']['trigger'];
    expectError(errorsOf('flow.schema.json', doc), {
      keyword: 'oneOf',
      instancePath: '/spec/trigger',
      params: { passingSchemas: [0, 1] },
    });
  });

  it('a trigger with none, or a manual: false', () => {
    const doc = clone(flow);
    doc.spec.trigger = {} as Flow['spec']['trigger'];
    expectError(errorsOf('flow.schema.json', doc), { keyword: 'oneOf', instancePath: '/spec/trigger' });
    doc.spec.trigger = { manual: false } as unknown as Flow['spec']['trigger'];
    expectError(errorsOf('flow.schema.json', doc), { keyword: 'const', instancePath: '/spec/trigger/manual' });
  });

  it('a bad secretRef', () => {
    expectError(errorsOf('defs.schema.json#/$defs/secretRef', { secretRef: 'hsm:shopify' }), {
      keyword: 'pattern',
      instancePath: '/secretRef',
    });
    expectError(errorsOf('defs.schema.json#/$defs/secretRef', { secretRef: 'env:' }), {
      keyword: 'pattern',
      instancePath: '/secretRef',
    });
    expectError(errorsOf('defs.schema.json#/$defs/secretRef', { secretRef: 'env:A', value: 'x' }), {
      keyword: 'additionalProperties',
      instancePath: '',
      params: { additionalProperty: 'value' },
    });
    expectError(errorsOf('defs.schema.json#/$defs/secretRef', 'shpat_123'), { keyword: 'type', instancePath: '' });
    expect(errorsOf('defs.schema.json#/$defs/secretRef', { secretRef: 'file:northwind/token' })).toEqual([]);

    // a connector's settings reference the same definition by its absolute $id
    const shopify = ajv.compile(CONNECTORS.shopify!.settings);
    const settings = { shop: 'northwind.myshopify.com', accessToken: { secretRef: 'env:TOKEN' } };
    expect(shopify(settings), brief(shopify.errors ?? []).join('\n')).toBe(true);
    expect(shopify({ ...settings, accessToken: { secretRef: 'NORTHWIND_TOKEN' } })).toBe(false);
    expectError(shopify.errors ?? [], { keyword: 'pattern', instancePath: '/accessToken/secretRef' });
    expect(shopify({ ...settings, accessToken: 'shpat_plaintext' })).toBe(false);
    expectError(shopify.errors ?? [], { keyword: 'type', instancePath: '/accessToken' });
  });

  it('a bad name', () => {
    for (const name of ['Orders', 'orders_to_erp', '1-orders', 'a'.repeat(64), '']) {
      const doc = clone(flow);
      doc.metadata.name = name;
      expectError(errorsOf('flow.schema.json', doc), { keyword: 'pattern', instancePath: '/metadata/name' });
    }
    const doc = clone(flow);
    doc.spec.policy = 'Finance Grade';
    expectError(errorsOf('flow.schema.json', doc), { keyword: 'pattern', instancePath: '/spec/policy' });
  });

  it('a wrong kind or apiVersion', () => {
    const doc = { ...clone(flow), apiVersion: 'rsync/v2' };
    expectError(errorsOf('flow.schema.json', doc), { keyword: 'const', instancePath: '/apiVersion' });
    expectError(errorsOf('document.schema.json', { ...clone(flow), kind: 'Flw' }), {
      keyword: 'enum',
      instancePath: '/kind',
    });
    expectError(errorsOf('document.schema.json', { apiVersion: 'rsync/v1' }), {
      keyword: 'required',
      instancePath: '',
      params: { missingProperty: 'kind' },
    });
  });

  it('bad values of the shared definitions', () => {
    const cases: [string, unknown, string][] = [
      ['duration', '5 minutes', 'pattern'],
      ['duration', 300, 'type'],
      ['percentage', 99.9, 'type'],
      ['percentage', '101%', 'pattern'],
      ['percentage', '99.9', 'pattern'],
      ['currency', 'usd', 'pattern'],
      ['timestamp', '2026-03-14', 'pattern'],
      ['timestamp', '2026-03-14T09:30:00', 'pattern'],
      ['timezone', 'America Chicago', 'pattern'],
      ['labels', { tier: 1 }, 'type'],
      ['environments', { Staging: {} }, 'pattern'],
      ['environments', { staging: 'x' }, 'type'],
    ];
    for (const [def, value, keyword] of cases) {
      const errors = errorsOf(`defs.schema.json#/$defs/${def}`, value);
      expect(
        errors.map((e) => e.keyword),
        `${def}: ${JSON.stringify(value)}`,
      ).toContain(keyword);
    }
    for (const [def, value] of [
      ['duration', '500ms'],
      ['percentage', '100%'],
      ['percentage', '0.5%'],
      ['timestamp', '2026-03-14T09:30:00.123Z'],
      ['timezone', 'America/Argentina/Buenos_Aires'],
      ['timezone', 'Etc/GMT+5'],
    ] as const) {
      expect(errorsOf(`defs.schema.json#/$defs/${def}`, value), `${def}: ${value}`).toEqual([]);
    }
  });

  it('flow fields out of range', () => {
    const doc = clone(flow);
    doc.spec.batchSize = 0;
    doc.spec.concurrency = 65;
    doc.spec.mapping = 'mappings/order.js';
    (doc.spec as { canonical: string }).canonical = 'orders';
    const errors = errorsOf('flow.schema.json', doc);
    expectError(errors, { keyword: 'minimum', instancePath: '/spec/batchSize' });
    expectError(errors, { keyword: 'maximum', instancePath: '/spec/concurrency' });
    expectError(errors, { keyword: 'pattern', instancePath: '/spec/mapping' });
    expectError(errors, { keyword: 'enum', instancePath: '/spec/canonical' });
    const { key: _key, ...spec } = clone(flow).spec;
    expectError(errorsOf('flow.schema.json', { ...flow, spec }), {
      keyword: 'required',
      instancePath: '/spec',
      params: { missingProperty: 'key' },
    });
  });

  it('mapping-test cases: exactly one expectation, exactly one input', () => {
    const doc = clone(mappingTest) as unknown as { spec: { cases: Json[] } };
    doc.spec.cases = [
      { name: 'both', input: { value: 1 }, output: 1, expect: { valid: 'order' } },
      { name: 'none', input: { value: 1 } },
      { name: 'two inputs', input: { value: 1, file: 'a.json' }, output: 1 },
      { name: 'path without file', input: { value: 1, path: 'response' }, output: 1 },
      { name: 'bad entity', input: { value: 1 }, expect: { valid: 'orders' } },
    ];
    const errors = errorsOf('mapping-test.schema.json', doc);
    expectError(errors, { keyword: 'oneOf', instancePath: '/spec/cases/0', params: { passingSchemas: [0, 2] } });
    expectError(errors, { keyword: 'oneOf', instancePath: '/spec/cases/1' });
    expectError(errors, { keyword: 'oneOf', instancePath: '/spec/cases/2/input', params: { passingSchemas: [0, 1] } });
    expectError(errors, { keyword: 'dependentRequired', instancePath: '/spec/cases/3/input' });
    expectError(errors, { keyword: 'enum', instancePath: '/spec/cases/4/expect/valid' });
  });

  it('customer, policy and workspace mistakes', () => {
    const c = clone(customer);
    c.spec.uses![0]!.template = 'shopify-orders-to-erp';
    (c.spec as { stores: unknown }).stores = '60';
    expectError(errorsOf('customer.schema.json', c), { keyword: 'pattern', instancePath: '/spec/uses/0/template' });
    expectError(errorsOf('customer.schema.json', c), { keyword: 'type', instancePath: '/spec/stores' });
    const { displayName: _d, ...spec } = clone(customer).spec;
    expectError(errorsOf('customer.schema.json', { ...customer, spec }), {
      keyword: 'required',
      instancePath: '/spec',
      params: { missingProperty: 'displayName' },
    });

    const p = clone(policy) as unknown as { spec: { ownership: Json; pii: unknown; retry: Json } };
    p.spec.ownership.inventory = 'netsuite';
    p.spec.pii = ['customer.email'];
    p.spec.retry.backoff = 'exp';
    const pe = errorsOf('policy.schema.json', p);
    expectError(pe, { keyword: 'pattern', instancePath: '/spec/ownership' }); // propertyNames: not a canonical entity
    expectError(pe, { keyword: 'type', instancePath: '/spec/pii' });
    expectError(pe, { keyword: 'enum', instancePath: '/spec/retry/backoff' });

    const w = {
      apiVersion: 'rsync/v1',
      kind: 'Workspace',
      metadata: { name: 'acme' },
      spec: {
        partner: { name: 'Acme' },
        branding: { primaryColor: '#0B5FF' },
        environments: { production: { branch: 'production' } },
      },
    };
    const we = errorsOf('workspace.schema.json', w);
    expectError(we, { keyword: 'pattern', instancePath: '/spec/branding/primaryColor' });
    expectError(we, {
      keyword: 'required',
      instancePath: '/spec/environments/production',
      params: { missingProperty: 'ref' },
    });
    expectError(we, {
      keyword: 'additionalProperties',
      instancePath: '/spec/environments/production',
      params: { additionalProperty: 'branch' },
    });
  });

  it('canonical records: unknown fields, missing required fields, bad quantities', () => {
    const o = clone(order) as unknown as Json & { lines: Json[] };
    o.totalPrice = '43.25';
    o.lines[0]!.quantity = 1.5;
    delete o.currency;
    const errors = errorsOf('canonical/order.schema.json', o);
    expectError(errors, {
      keyword: 'additionalProperties',
      instancePath: '',
      params: { additionalProperty: 'totalPrice' },
    });
    expectError(errors, { keyword: 'type', instancePath: '/lines/0/quantity', params: { type: 'integer' } });
    expectError(errors, { keyword: 'required', instancePath: '', params: { missingProperty: 'currency' } });
    expectError(errorsOf('canonical/order.schema.json', { ...order, lines: [] }), {
      keyword: 'minItems',
      instancePath: '/lines',
    });

    const je = clone(canonicalExamples.journalEntry) as { lines: Json[] };
    je.lines = [{ account: '1010', debit: '1.00' }];
    expectError(errorsOf('canonical/journalEntry.schema.json', je), { keyword: 'minItems', instancePath: '/lines' });
    je.lines = [{ account: '1010', debit: '1.00' }, { account: '1200' }];
    expectError(errorsOf('canonical/journalEntry.schema.json', je), { keyword: 'anyOf', instancePath: '/lines/1' });
  });

  it('a template flow spec may hold ${{ }} placeholders but no unknown field', () => {
    const template = {
      apiVersion: 'rsync/v1',
      kind: 'Template',
      metadata: { name: 't' },
      spec: {
        version: 1,
        flows: [
          {
            metadata: { name: 'f' },
            spec: {
              source: '${{ with.source }}',
              trigger: { event: 'orders/create' },
              mapping: 'm.jsonata',
              canonical: 'order',
              target: { connection: '${{ with.erp }}', entity: 'salesOrder' },
              key: 'id',
              batchSize: '${{ with.batchSize }}',
            },
          },
        ],
      },
    };
    expect(brief(errorsOf('template.schema.json', template))).toEqual([]);
    (template.spec.flows[0]!.spec as Json).shedule = 'x';
    expectError(errorsOf('template.schema.json', template), {
      keyword: 'additionalProperties',
      instancePath: '/spec/flows/0/spec',
      params: { additionalProperty: 'shedule' },
    });
  });
});

describe('generated types', () => {
  it('are up to date (npm run gen:types)', async () => {
    const outputs = await generate();
    const generatedDir = path.join(ROOT, 'engine', 'model', 'generated');
    const stale = [...outputs].filter(([rel, content]) => {
      try {
        return readFileSync(path.join(generatedDir, rel), 'utf8') !== content;
      } catch {
        return true;
      }
    });
    expect(stale.map(([rel]) => rel)).toEqual([]);
  });
});
