/**
 * The fair-share workspace of test/runtime/fairshare.test.ts and the fairshare benchmark part: three customers on
 * sandbox systems — northwind (customer.yaml: concurrency 2), contoso (concurrency 1) and fabrikam (rsync.yaml's
 * defaults: concurrency 3 and `fabrikamRecords` records a day) — each with a manual stock flow (batchSize 100,
 * concurrency 4: the backfills) and an event orders flow (orders/create).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { STOCK_KEY, STOCK_MAPPING } from './runtime.js';

export const CUSTOMERS = { northwind: 'concurrency: 2', contoso: 'concurrency: 1', fabrikam: '' } as const;
export type Customer = keyof typeof CUSTOMERS;
export const LIMITS: Record<Customer, number> = { northwind: 2, contoso: 1, fabrikam: 3 };

/** rsync.yaml with the partner's default limits, and per customer: its limits, two sandbox systems and three flows. */
export function writeFairWorkspace(dir: string, fabrikamRecords: number): void {
  writeFileSync(
    path.join(dir, 'rsync.yaml'),
    `apiVersion: rsync/v1
kind: Workspace
metadata: { name: fair-share-test }
spec:
  partner: { name: Acme Retail Integrations }
  environments:
    staging: { ref: main }
  defaults:
    timezone: UTC
    policy: standard
    limits: { concurrency: 3, recordsPerDay: ${fabrikamRecords} }
---
apiVersion: rsync/v1
kind: Policy
metadata: { name: standard }
spec:
  retry: { maxAttempts: 3, backoff: exponential, initial: 1s, max: 2s }
`,
  );
  for (const [customer, limits] of Object.entries(CUSTOMERS)) {
    const c = path.join(dir, 'integrations', customer);
    mkdirSync(path.join(c, 'flows'), { recursive: true });
    mkdirSync(path.join(c, 'mappings'), { recursive: true });
    writeFileSync(
      path.join(c, 'customer.yaml'),
      `apiVersion: rsync/v1\nkind: Customer\nmetadata: { name: ${customer} }\nspec:\n  displayName: ${customer}\n${limits ? `  limits: { ${limits}, recordsPerDay: 10000000 }\n` : ''}`,
    );
    writeFileSync(
      path.join(c, 'connections.yaml'),
      `apiVersion: rsync/v1\nkind: Connection\nmetadata: { name: shop }\nspec: { connector: sandbox, settings: { system: storefront } }\n---\napiVersion: rsync/v1\nkind: Connection\nmetadata: { name: erp }\nspec: { connector: sandbox, settings: { system: erp } }\n`,
    );
    writeFileSync(path.join(c, 'mappings', 'stock.jsonata'), STOCK_MAPPING);
    writeFileSync(
      path.join(c, 'mappings', 'orders.jsonata'),
      `{ "externalId": $string(id), "createdAt": created_at, "currency": currency, "total": total_price,
  "lines": [{ "sku": "SKU-" & $string(id), "quantity": 1, "unitPrice": total_price, "total": total_price }] }`,
    );
    const flow = (name: string, trigger: string, source: string, target: string, more = '') =>
      writeFileSync(
        path.join(c, 'flows', `${name}.yaml`),
        `apiVersion: rsync/v1\nkind: Flow\nmetadata: { name: ${name} }\nspec:\n  source: ${source}\n  trigger: ${trigger}\n  mapping: ../mappings/${name.startsWith('orders') ? 'orders' : 'stock'}.jsonata\n  canonical: ${name.startsWith('orders') ? 'order' : 'inventoryLevel'}\n  target: ${target}\n  key: ${JSON.stringify(name.startsWith('orders') ? "'order-' & $string(id)" : STOCK_KEY)}\n${more}`,
      );
    flow(
      'stock',
      '{ manual: true }',
      '{ connection: erp, stream: inventory }',
      '{ connection: shop, entity: inventoryLevel }',
      '  batchSize: 100\n  concurrency: 4\n',
    );
    flow(
      'orders',
      '{ event: orders/create }',
      '{ connection: shop, stream: orders }',
      '{ connection: erp, entity: salesOrder }',
      '  batchSize: 5\n',
    );
  }
}
