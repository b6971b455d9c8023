/**
 * `rsync watch` (engine/watch): on a temp copy of a small workspace, the first run reports everything; a save
 * that breaks a file reports exactly the new problem, the save that fixes it reports it fixed; only the mapping
 * tests the change can affect run again; bursts of saves give one run; the built CLI prints NDJSON and exits 0 on
 * SIGINT. Save→event latency is measured and bounded generously (the 300 ms target is a benchmark figure).
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceWatcher, type WatchEvent } from '../../engine/watch/watcher.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'cli', 'bin', 'run.js');

const FILES: Record<string, string> = {
  'rsync.yaml': `apiVersion: rsync/v1
kind: Workspace
metadata: { name: watch-test }
spec:
  partner: { name: Watch Test }
  environments: { staging: { ref: main } }
  defaults: { timezone: UTC, policy: standard, sla: standard }
---
apiVersion: rsync/v1
kind: Policy
metadata: { name: standard }
spec: { ownership: { order: shopify } }
---
apiVersion: rsync/v1
kind: SLA
metadata: { name: standard }
spec: { freshness: 15m }
`,
  'integrations/northwind/customer.yaml': `apiVersion: rsync/v1
kind: Customer
metadata: { name: northwind }
spec: { displayName: Northwind Traders }
`,
  'integrations/northwind/connections.yaml': `apiVersion: rsync/v1
kind: Connection
metadata: { name: shopify }
spec:
  connector: shopify
  settings:
    shop: northwind.myshopify.com
    accessToken: { secretRef: "env:NORTHWIND_SHOPIFY_TOKEN" }
---
apiVersion: rsync/v1
kind: Connection
metadata: { name: erp }
spec:
  connector: sandbox
  settings: { system: erp }
`,
  'integrations/northwind/flows/orders.yaml': `apiVersion: rsync/v1
kind: Flow
metadata: { name: orders-to-erp }
spec:
  source: { connection: shopify, stream: orders }
  trigger: { event: orders/create }
  mapping: ../mappings/order.jsonata
  canonical: order
  target: { connection: erp, entity: salesOrder }
  key: "'order-' & id"
  policy: standard
`,
  'integrations/northwind/mappings/order.jsonata': `{
  "externalId": $string(id),
  "createdAt": created_at,
  "currency": currency,
  "lines": [line_items.{ "quantity": quantity, "unitPrice": price }],
  "total": total_price
}
`,
  'integrations/northwind/mappings/order.test.yaml': `apiVersion: rsync/v1
kind: MappingTest
metadata: { name: order }
spec:
  mapping: order.jsonata
  cases:
    - name: fixture order
      input: { file: ../../../test/fixtures/order.json }
      expect: { valid: order }
    - name: inline order
      input: { value: { id: 7, created_at: "2024-05-01T10:00:00Z", currency: EUR, line_items: [{ quantity: 2, price: "5.00" }], total_price: "10.00" } }
      output: { externalId: "7", createdAt: "2024-05-01T10:00:00Z", currency: EUR, lines: [{ quantity: 2, unitPrice: "5.00" }], total: "10.00" }
`,
  'integrations/northwind/mappings/contact.jsonata': `{ "externalId": $string(id), "email": email }
`,
  'integrations/northwind/mappings/contact.test.yaml': `apiVersion: rsync/v1
kind: MappingTest
metadata: { name: contact }
spec:
  mapping: contact.jsonata
  cases:
    - name: contact
      input: { value: { id: 1, email: a@example.com } }
      output: { externalId: "1", email: a@example.com }
`,
  'test/fixtures/order.json': JSON.stringify(
    {
      id: 1001,
      created_at: '2024-05-01T10:00:00Z',
      currency: 'USD',
      line_items: [{ quantity: 1, price: '19.99' }],
      total_price: '19.99',
    },
    null,
    2,
  ),
};

const FLOW = 'integrations/northwind/flows/orders.yaml';
const ORDER_MAPPING = 'integrations/northwind/mappings/order.jsonata';
const ORDER_TEST = 'integrations/northwind/mappings/order.test.yaml';

let dir: string;
let watcher: WorkspaceWatcher | undefined;
let events: WatchEvent[];
let waiting: ((e: WatchEvent) => void)[];

async function write(rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), text);
}

async function edit(rel: string, from: string, to: string): Promise<void> {
  const text = await readFile(path.join(dir, rel), 'utf8');
  expect(text).toContain(from);
  await writeFile(path.join(dir, rel), text.replace(from, to));
}

/** The next event, or a failure after `ms`. */
function nextEvent(ms = 5000): Promise<WatchEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no watch event within ${ms} ms`)), ms);
    waiting.push((e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

/** Save, then wait for the run it triggers; returns the event and the save→event time. */
async function saveAndWait(save: () => Promise<void>): Promise<{ event: WatchEvent; ms: number }> {
  const next = nextEvent();
  const t0 = performance.now();
  await save();
  const event = await next;
  return { event, ms: performance.now() - t0 };
}

async function startWatcher(sub = ''): Promise<WatchEvent> {
  watcher = new WorkspaceWatcher({
    path: path.join(dir, sub),
    onEvent: (e) => {
      events.push(e);
      waiting.shift()?.(e);
    },
  });
  return watcher.start();
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rsync-watch-'));
  for (const [rel, text] of Object.entries(FILES)) await write(rel, text);
  events = [];
  waiting = [];
});

afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('WorkspaceWatcher', () => {
  it('reports everything at start: a valid workspace with passing tests', async () => {
    const first = await startWatcher();
    expect(first.trigger).toBe('start');
    expect(first.diagnostics.added).toEqual([]);
    expect(first.summary).toEqual({ errors: 0, warnings: 0, tests: 3, failing: 0 });
    expect(first.tests.ran).toBe(3);
    expect(events).toEqual([first]);
  });

  it('reports exactly the new problem when a save breaks a file, and reports it fixed when the next save fixes it', async () => {
    await startWatcher();

    const broken = await saveAndWait(() => edit(FLOW, 'policy: standard', 'policy: standrd'));
    expect(broken.event.trigger).toBe('change');
    expect(broken.event.changed).toEqual([FLOW]);
    expect(broken.event.diagnostics.fixed).toEqual([]);
    expect(broken.event.diagnostics.added).toHaveLength(1);
    const [d] = broken.event.diagnostics.added;
    expect(d).toMatchObject({
      severity: 'error',
      code: 'ref-unknown',
      summary: 'Unknown policy "standrd"',
      range: { file: FLOW, start: { line: 11, column: 11 } },
    });
    expect(d.detail).toContain('Did you mean "standard"?');
    // The flow's mapping and key did not change, so no mapping test ran again.
    expect(broken.event.tests).toEqual({ ran: 0, failing: [], passing: [], removed: [] });
    expect(broken.event.summary).toMatchObject({ errors: 1, failing: 0 });

    const fixed = await saveAndWait(() => edit(FLOW, 'policy: standrd', 'policy: standard'));
    expect(fixed.event.diagnostics.added).toEqual([]);
    expect(fixed.event.diagnostics.fixed).toEqual([d]);
    expect(fixed.event.summary).toMatchObject({ errors: 0, failing: 0 });

    // Save → event, debounce included; the 300 ms target is measured on the example workspace, not here.
    for (const ms of [broken.ms, fixed.ms]) expect(ms).toBeLessThan(2000);
    expect(broken.event.latencyMs).toBeLessThan(2000);
  });

  it('reports test cases that start and stop failing, and re-runs only the tests the change affects', async () => {
    await startWatcher();

    const broken = await saveAndWait(() =>
      edit(ORDER_MAPPING, '"total": total_price', '"total": $string($number(total_price) + 1)'),
    );
    expect(broken.event.diagnostics).toEqual({ added: [], fixed: [] });
    expect(broken.event.tests.ran).toBe(2); // order.test.yaml only, not contact.test.yaml
    expect(broken.event.tests.failing.map((c) => c.case)).toEqual(['inline order']);
    expect(broken.event.tests.failing[0]).toMatchObject({
      file: ORDER_TEST,
      status: 'failed',
      message: 'output differs from the expected output',
    });
    expect(broken.event.summary).toMatchObject({ tests: 3, failing: 1 });

    const fixed = await saveAndWait(() =>
      edit(ORDER_MAPPING, '"total": $string($number(total_price) + 1)', '"total": total_price'),
    );
    expect(fixed.event.tests.passing.map((c) => c.case)).toEqual(['inline order']);
    expect(fixed.event.tests.failing).toEqual([]);
    expect(fixed.event.summary).toMatchObject({ tests: 3, failing: 0 });
  });

  it('re-runs the tests of a mapping when the flows that use it change, and none for rsync.yaml', async () => {
    await startWatcher();
    const flow = await saveAndWait(() => edit(FLOW, `key: "'order-' & id"`, 'key: missing_field'));
    expect(flow.event.tests.ran).toBe(2);
    // The key gives nothing for either input now.
    expect(flow.event.tests.failing.map((c) => c.case).sort()).toEqual(['fixture order', 'inline order']);
    expect(flow.event.tests.failing[0].message).toContain('idempotency key of flow orders-to-erp');

    // Pointed at another mapping: the tests of both mappings run again.
    const moved = await saveAndWait(() =>
      edit(FLOW, 'mapping: ../mappings/order.jsonata', 'mapping: ../mappings/contact.jsonata'),
    );
    expect(moved.event.tests.ran).toBe(3);
    expect(moved.event.tests.passing.map((c) => c.case).sort()).toEqual(['fixture order', 'inline order']);
    expect(moved.event.tests.failing.map((c) => c.case)).toEqual(['contact']);

    const settings = await saveAndWait(() => edit('rsync.yaml', 'name: Watch Test', 'name: Watch Test Partner'));
    expect(settings.event.tests.ran).toBe(0);
    expect(settings.event.diagnostics).toEqual({ added: [], fixed: [] });
    expect(settings.event.summary.failing).toBe(1);
  });

  it('re-runs the tests that read a fixture when it is saved, and ignores .json files no test reads', async () => {
    await startWatcher();
    const fixture = await saveAndWait(() =>
      write('test/fixtures/order.json', JSON.stringify({ id: 1001, currency: 'USD' })),
    );
    expect(fixture.event.changed).toEqual(['test/fixtures/order.json']);
    expect(fixture.event.tests.ran).toBe(2);
    expect(fixture.event.tests.failing.map((c) => c.case)).toEqual(['fixture order']);
    expect(fixture.event.tests.failing[0].message).toContain('not a valid canonical order');

    const before = events.length;
    await write('notes.json', '{}');
    await new Promise((r) => setTimeout(r, 400));
    expect(events.length).toBe(before);
  });

  it('joins a burst of saves into one run, and reports new and deleted test files', async () => {
    await startWatcher();
    const next = nextEvent();
    // Five writes in a row, like an editor's save (synchronous, so they land within a few ms even on a busy machine).
    for (let i = 0; i < 5; i++)
      writeFileSync(
        path.join(dir, FLOW),
        FILES[FLOW].replace('policy: standard', i < 4 ? `policy: p${i}` : 'policy: standard'),
      );
    const e = await next;
    expect(e.diagnostics).toEqual({ added: [], fixed: [] });
    await new Promise((r) => setTimeout(r, 300));
    expect(events.length).toBe(2);

    const added = await saveAndWait(() =>
      write(
        'integrations/northwind/mappings/extra.test.yaml',
        'apiVersion: rsync/v1\nkind: MappingTest\nmetadata: { name: extra }\nspec:\n  mapping: contact.jsonata\n  cases:\n    - name: wrong\n      input: { value: { id: 2 } }\n      output: { externalId: "3" }\n',
      ),
    );
    expect(added.event.tests.ran).toBe(1);
    expect(added.event.tests.failing.map((c) => c.case)).toEqual(['wrong']);
    expect(added.event.summary).toMatchObject({ tests: 4, failing: 1 });

    const removed = await saveAndWait(() => rm(path.join(dir, 'integrations/northwind/mappings/extra.test.yaml')));
    expect(removed.event.tests.removed.map((c) => c.case)).toEqual(['wrong']);
    expect(removed.event.summary).toMatchObject({ tests: 3, failing: 0 });
  });

  it('limits problems and tests to a folder given as the path', async () => {
    await write(
      'integrations/other/customer.yaml',
      'apiVersion: rsync/v1\nkind: Customer\nmetadata: { name: other }\nspec: { displayName: Other, sla: nope }\n',
    );
    const first = await startWatcher('integrations/northwind');
    expect(first.diagnostics.added).toEqual([]);
    const e = await saveAndWait(() => edit('integrations/other/customer.yaml', 'Other', 'Other Co'));
    expect(e.event.diagnostics).toEqual({ added: [], fixed: [] });
  });

  it('reports nothing after stop', async () => {
    await startWatcher();
    await watcher!.stop();
    await edit(FLOW, 'policy: standard', 'policy: standrd');
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toHaveLength(1);
  });
});

/** The built CLI on the temp workspace; `lines()` resolves with each stdout line as it comes. */
function spawnCli(args: string[]) {
  expect(
    existsSync(path.join(ROOT, '.build', 'cli', 'commands', 'watch.js')),
    'build first: npx tsc -p tsconfig.json',
  ).toBe(true);
  const child = spawn(process.execPath, [CLI, 'watch', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const l = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(l);
      else queue.push(l);
    }
  });
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return {
    child,
    stderr: () => err,
    line: () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : waiters.push(resolve))),
    exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
  };
}

describe('rsync watch (built CLI)', () => {
  it('prints the summary, then only what changed, plainly when not a terminal, and exits 0 on SIGINT', async () => {
    const cli = spawnCli([]);
    expect(await cli.line()).toMatch(
      /^\d\d:\d\d:\d\d ✓ 0 errors, 0 warnings; 0 of 3 test cases failing \([\d.]+ ms\)$/,
    );
    await edit(FLOW, 'policy: standard', 'policy: standrd');
    expect(await cli.line()).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${FLOW} \\([\\d.]+ ms\\)$`));
    expect(await cli.line()).toBe(
      `  + ${FLOW}:11:11 error ref-unknown Unknown policy "standrd" [northwind/flow/orders-to-erp]`,
    );
    expect(await cli.line()).toMatch(/^ {6}Known policies: standard\. Did you mean "standard"\?/);
    expect(await cli.line()).toBe('  ✗ 1 error, 0 warnings; 0 of 3 test cases failing');
    await edit(FLOW, 'policy: standrd', 'policy: standard');
    await cli.line();
    expect(await cli.line()).toBe(
      `  fixed ${FLOW}:11:11 error ref-unknown Unknown policy "standrd" [northwind/flow/orders-to-erp]`,
    );
    expect(await cli.line()).toBe('  ✓ 0 errors, 0 warnings; 0 of 3 test cases failing');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toBe(''); // no colours, no "Ctrl-C to stop" hint, no stack trace when not a terminal
  });

  it('prints one JSON object per run and exits 0 on SIGINT', async () => {
    const cli = spawnCli(['--json']);
    // biome-ignore lint/suspicious/noExplicitAny: NDJSON records of several shapes, read field by field
    const line = async () => JSON.parse(await cli.line()) as Record<string, any>;

    const first = await line();
    expect(first).toMatchObject({ version: 1, run: 0, trigger: 'start', summary: { errors: 0, tests: 3, failing: 0 } });
    const second = line();
    await edit(FLOW, 'policy: standard', 'policy: standrd');
    const change = await second;
    expect(change.diagnostics.added).toEqual([
      expect.objectContaining({ code: 'ref-unknown', file: FLOW, line: 11, column: 11 }),
    ]);
    expect(change.diagnostics.fixed).toEqual([]);

    const last = line();
    cli.child.kill('SIGINT');
    expect(await last).toMatchObject({ version: 1, runs: 2 });
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toBe('');
  });
});
