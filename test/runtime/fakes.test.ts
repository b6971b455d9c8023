/**
 * One runtime serving some systems by their real connectors and the rest by the sandbox (RuntimeContext.sandbox as
 * a predicate, RuntimeContext.settings as a run-time overlay): the demo's vendor fakes (engine/runtime/fakes.ts)
 * on 127.0.0.1, a real PostgreSQL for the sandbox's simulated systems. The WooCommerce connection is read through
 * the woocommerce connector from its fake, its credentials staying secret references; a Business Central one of
 * the same runtime is the sandbox's; and a connector without a fake (shopify) is never faked.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../engine/connectors/sandbox/connector.js';
import { migrate } from '../../engine/state/migrate.js';
import { closeFakes, FAKES, fakeableConnections, type RunningFake, startFakes } from '../../engine/runtime/fakes.js';
import type { ConnectionDef, FlowDef } from '../../engine/runtime/flows.js';
import { closeConnectors, connectorFor, type RuntimeContext } from '../../engine/runtime/page-loop.js';
import { Mapper } from '../../engine/runtime/mapping/mapper.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const woo: ConnectionDef = {
  name: 'woocommerce',
  system: 'acme/woocommerce',
  type: 'woocommerce',
  settings: {
    url: 'https://staging.shop.acme.example',
    consumerKey: { secretRef: 'env:ACME_WOO_KEY_NOT_SET' },
    consumerSecret: { secretRef: 'env:ACME_WOO_SECRET_NOT_SET' },
  },
};
const erp: ConnectionDef = { name: 'erp', system: 'acme/erp', type: 'business-central', settings: {} };
// An http connection: no fake, so it stays on the sandbox.
const pos: ConnectionDef = { name: 'pos', system: 'acme/pos', type: 'http', settings: {} };
const flow = (source: ConnectionDef, target: ConnectionDef) =>
  ({
    source: { ...source, stream: 'refunds' },
    target: { ...target, entity: 'salesCreditMemo' },
    params: { currency: 'EUR' },
  }) as unknown as FlowDef;

describe('a runtime with some systems real (against fakes) and the rest on the sandbox', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let fakes: RunningFake[];
  let rt: RuntimeContext;
  const mapper = new Mapper(1);

  beforeAll(async () => {
    db = await testDatabase('runtime_fakes');
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await migrate(pool);
    const flows = [flow(woo, erp), flow(pos, erp)];
    fakes = await startFakes(fakeableConnections(flows));
    const faked = new Set(fakes.map((f) => f.system));
    rt = {
      db: pool,
      mapper,
      worker: 'test',
      sandbox: (system) => !faked.has(system),
      settings: new Map(fakes.map((f) => [f.system, f.settings])),
    };
  });
  afterAll(async () => {
    await closeConnectors();
    await closeFakes(fakes ?? []);
    await mapper.close();
    await pool?.end();
    await db?.drop();
  });

  it('fakes only the connectors FAKES lists, each once', () => {
    expect(Object.keys(FAKES).sort()).toEqual(['shopify', 'square', 'stripe', 'woocommerce']);
    expect(fakes.map((f) => `${f.system} ${f.connector}`)).toEqual(['acme/woocommerce woocommerce']);
    expect(fakes[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('points the connection at its fake with secret references, never the secrets themselves', () => {
    const s = fakes[0].settings;
    expect(s.url).toBe(fakes[0].url);
    for (const k of ['consumerKey', 'consumerSecret', 'webhookSecret']) {
      const ref = (s[k] as { secretRef: string }).secretRef;
      expect(ref).toMatch(/^env:RSYNC_DEMO_ACME_WOOCOMMERCE_/);
      expect(process.env[ref.slice(4)]).toBeTruthy();
    }
  });

  it('reads the faked system through its real connector, and the other from the sandbox', async () => {
    fakes[0].seed('refunds', [
      {
        id: 901,
        parent_id: 77,
        date_created: '2026-11-30T10:00:00Z',
        amount: '12.50',
        reason: 'damaged',
        line_items: [],
      },
    ]);
    const page = await connectorFor(rt, { ...woo, stream: 'refunds' }).read!({
      stream: 'refunds',
      cursor: null,
      limit: 10,
    });
    expect((page.records as { id: number; amount: string }[]).map((r) => [r.id, r.amount])).toEqual([[901, '12.50']]);

    await generate(pool, { system: erp.system, stream: 'items', samples: [{ id: 'I-1', number: 'X' }], count: 2 });
    const items = await connectorFor(rt, { ...erp, stream: 'items' }).read!({
      stream: 'items',
      cursor: null,
      limit: 10,
    });
    expect(items.records).toHaveLength(2);
  });
});
