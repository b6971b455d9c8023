/**
 * The console's API is authorised on the server, for every request (issue 17): every route of the app — read off
 * the app itself, not listed here — is 401 without a token or with a bad one; a viewer's and a customer viewer's
 * mutations are 403 and change nothing; a revoked token, and a session opened with it, are refused on the next
 * call; a cookie-authenticated mutation without the session's CSRF token is 403; the session cookie is HttpOnly,
 * SameSite=Strict and Secure behind https; failed sign-ins are limited per address (429 with Retry-After); a
 * customer viewer gets 404 for another customer's objects, exactly as for ones that do not exist, and sees nothing
 * of it anywhere; every mutation is in the audit log with its actor and reason.
 *
 * Over real HTTP on 127.0.0.1, against a real worker serving the console (test/console/setup.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorOf, authenticate, createToken, revokeToken } from '../../engine/auth/tokens.js';
import { consoleApp } from '../../engine/console/app.js';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { Mapper } from '../../engine/runtime/mapping/mapper.js';
import { ENV, until } from '../helpers/runtime.js';
import { type ConsoleWorld, consoleWorld, PII, planAwaitingApproval, runStock } from './setup.js';

let w: ConsoleWorld;

type Call = { method: string; path: string };

/** Every API route of the console's app, with its parameters filled in (the sign-in excepted: it is the door). */
function apiRoutes(): Call[] {
  const mapper = new Mapper(0);
  const app = consoleApp({ pool: w.pool, env: ENV, rt: { db: w.pool, mapper, worker: 'test', sandbox: true } });
  void mapper.close();
  const seen = new Set<string>();
  const out: Call[] = [];
  for (const r of app.routes) {
    if (!r.path.startsWith('/api/') || r.method === 'ALL') continue;
    if (r.method === 'POST' && r.path === '/api/session') continue;
    const path = r.path
      .replace(':id', String(w.letters.acme.id))
      .replace(':customer', 'acme')
      .replace(':flow', 'stock');
    const k = `${r.method} ${path}`;
    if (!seen.has(k)) out.push({ method: r.method, path });
    seen.add(k);
  }
  return out;
}

async function call(c: Call, headers: Record<string, string> = {}, body: unknown = {}) {
  const r = await fetch(w.base + c.path, {
    method: c.method,
    headers: { 'content-type': 'application/json', ...headers },
    body: c.method === 'GET' ? undefined : JSON.stringify(body),
  });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function signIn(token: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${w.base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token }),
  });
  const cookie = r.headers.get('set-cookie') ?? '';
  return { status: r.status, cookie, value: cookie.split(';')[0], json: (await r.json()) as { csrf?: string } };
}

const openLetters = async () =>
  (await w.pool.query(`SELECT id::int, status, assignee FROM rsync.dead_letters ORDER BY id`)).rows;

describe('the console API', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    w = await consoleWorld('console_sec');
  });
  afterAll(async () => {
    await w?.close();
  });

  it('answers every API route with 401 without a token, with a malformed or unknown one, and with a bad cookie', async () => {
    const routes = apiRoutes();
    // The app's routes, read off the app: reads and every dead-letter action at least.
    expect(routes.length).toBeGreaterThanOrEqual(14);
    expect(routes.map((r) => r.method)).toContain('POST');
    const bad: Record<string, string>[] = [
      {},
      bearer('nonsense'),
      bearer(`rsy_aaaaaaaaaaaa_${'x'.repeat(43)}`),
      { cookie: `rsync_session=rsy_aaaaaaaaaaaa_${'x'.repeat(43)}` },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    ];
    const wrong: string[] = [];
    for (const r of routes)
      for (const h of bad) {
        const got = await call(r, h);
        if (got.status !== 401) wrong.push(`${r.method} ${r.path} with ${JSON.stringify(h)}: ${got.status}`);
      }
    expect(wrong).toEqual([]);
    // And a token works on them (the 401s were the missing identity, not a broken route).
    const ok = await call({ method: 'GET', path: '/api/overview' }, bearer(w.tokens.viewer));
    expect(ok.status).toBe(200);
  });

  it("refuses a viewer's and a customer viewer's every mutation with 403, and changes nothing", async () => {
    const before = await openLetters();
    const log = Number((await w.pool.query('SELECT count(*) FROM rsync.apply_log')).rows[0].count);
    const mutations = apiRoutes().filter((r) => r.method !== 'GET' && r.path !== '/api/session');
    expect(mutations.length).toBeGreaterThanOrEqual(6);
    for (const t of [w.tokens.viewer, w.tokens.acmeViewer])
      for (const m of mutations) {
        const got = await call(m, bearer(t), {
          reason: 'try',
          to: 'me',
          payload: '{}',
          ids: [w.letters.acme.id],
          action: 'discard',
          confirm: true,
        });
        expect(got.status, `${m.method} ${m.path}`).toBe(403);
      }
    expect(await openLetters()).toEqual(before);
    expect(Number((await w.pool.query('SELECT count(*) FROM rsync.apply_log')).rows[0].count)).toBe(log);
  });

  it('refuses a revoked token at once, and the sessions it opened', async () => {
    const { token, row } = await createToken(w.pool, { name: 'temp', role: 'operator', createdBy: 'test' });
    const s = await signIn(token);
    expect(s.status).toBe(200);
    const overview = { method: 'GET', path: '/api/overview' };
    expect((await call(overview, bearer(token))).status).toBe(200);
    expect((await call(overview, { cookie: s.value })).status).toBe(200);
    expect(await revokeToken(w.pool, row.id, 'test')).toBe(true);
    expect((await call(overview, bearer(token))).status).toBe(401);
    expect((await call(overview, { cookie: s.value })).status).toBe(401);
    // A session's own token is no API token: it is refused as a Bearer token.
    const again = await signIn(w.tokens.viewer);
    expect((await call(overview, bearer(again.value.split('=')[1]))).status).toBe(401);
    // Signing out ends the session.
    expect(
      (
        await call(
          { method: 'DELETE', path: '/api/session' },
          { cookie: again.value, 'x-csrf-token': again.json.csrf! },
        )
      ).status,
    ).toBe(200);
    expect((await call(overview, { cookie: again.value })).status).toBe(401);
  });

  it('sets a secure session cookie and wants the CSRF token with every cookie-authenticated mutation', async () => {
    const s = await signIn(w.tokens.operator);
    expect(s.status).toBe(200);
    expect(s.cookie).toMatch(/^rsync_session=rsy_[a-z0-9]{12}_/);
    expect(s.cookie).toMatch(/HttpOnly/i);
    expect(s.cookie).toMatch(/SameSite=Strict/i);
    expect(s.cookie).not.toMatch(/Secure/i); // plain http on 127.0.0.1
    const behindTls = await signIn(w.tokens.operator, { 'x-forwarded-proto': 'https' });
    expect(behindTls.cookie).toMatch(/; Secure/i);
    // The session row is the token's: kind session, its parent the API token, expiring.
    const row = await w.pool.query(
      `SELECT s.kind, s.expires_at IS NOT NULL AS expires, p.name FROM rsync.tokens s JOIN rsync.tokens p ON p.id = s.parent WHERE s.id = $1`,
      [s.value.split('_')[2]],
    );
    expect(row.rows[0]).toEqual({ kind: 'session', expires: true, name: 'olga' });

    const assign = { method: 'POST', path: `/api/dead-letters/${w.letters.acme.id}/assign` };
    expect((await call(assign, { cookie: s.value }, { to: 'olga' })).status).toBe(403);
    expect((await call(assign, { cookie: s.value, 'x-csrf-token': 'wrong' }, { to: 'olga' })).status).toBe(403);
    expect((await call(assign, { cookie: s.value, 'x-csrf-token': behindTls.json.csrf! }, { to: 'olga' })).status).toBe(
      403,
    );
    expect((await openLetters()).find((l) => l.id === w.letters.acme.id)?.assignee).toBeNull();
    const ok = await call(assign, { cookie: s.value, 'x-csrf-token': s.json.csrf! }, { to: 'olga' });
    expect(ok.status, ok.text).toBe(200);
    expect((await openLetters()).find((l) => l.id === w.letters.acme.id)?.assignee).toBe('olga');
    // A Bearer call needs no CSRF token (no browser sends that header by itself).
    const viaBearer = await call(assign, bearer(w.tokens.operator), { to: 'ops desk' });
    expect(viaBearer.status).toBe(200);
  });

  it("shows a customer viewer its own customer only: another's objects are 404 like missing ones, and named nowhere", async () => {
    const h = bearer(w.tokens.acmeViewer);
    const get = (path: string) => call({ method: 'GET', path }, h);
    const missing = await get('/api/dead-letters/999999');
    expect(missing.status).toBe(404);
    const guessed = [`/api/dead-letters/${w.letters.globex.id}`, '/api/flows/globex/stock', '/api/flows/globex/orders'];
    for (const p of guessed) {
      const got = await get(p);
      expect(got.status, p).toBe(404);
      expect(got.text).toBe(missing.text);
    }
    const globexRun = (await w.pool.query(`SELECT id::int FROM rsync.runs WHERE address LIKE 'globex/%' LIMIT 1`))
      .rows[0].id;
    expect((await get(`/api/runs/${globexRun}`)).text).toBe(missing.text);
    const reads = [
      '/api/overview',
      '/api/overview?customer=globex',
      '/api/dead-letters?status=all',
      '/api/dead-letters?customer=globex',
      `/api/dead-letters?flow=globex/flow/stock`,
      `/api/journey?q=${encodeURIComponent(w.letters.globex.key)}`,
      '/api/journey?q=stock-2001',
      '/api/journey?q=globex',
      '/api/changes',
      '/api/session',
      '/api/branding',
    ];
    for (const p of reads) {
      const got = await get(p);
      expect(got.status, p).toBe(200);
      // What the viewer typed comes back as it was (the journey's "q"); nothing else may name the other tenant.
      const { q: _typed, ...answer } = JSON.parse(got.text);
      expect(JSON.stringify(answer).toLowerCase(), p).not.toContain('globex');
      expect(got.text, p).not.toContain(PII);
    }
    const ov = JSON.parse((await get('/api/overview')).text);
    expect(ov.customers).toEqual(['acme']);
    expect(ov.totals.flows).toBe(2);
    expect(ov.totals.deadLetters).toBe(1);
    // Its own letter: shown without its payload.
    const own = JSON.parse((await get(`/api/dead-letters/${w.letters.acme.id}`)).text);
    expect(own.customer).toBe('acme');
    expect(own.payload).toBeNull();
    // The partner's viewer sees both customers, payloads PII-masked.
    const all = JSON.parse((await call({ method: 'GET', path: '/api/overview' }, bearer(w.tokens.viewer))).text);
    expect(all.customers).toEqual(['acme', 'globex']);
    const letter = await call(
      { method: 'GET', path: `/api/dead-letters/${w.letters.globex.id}` },
      bearer(w.tokens.viewer),
    );
    expect(JSON.parse(letter.text).payload.customer.email).toBe('***');
    expect(letter.text).not.toContain(PII);
  });

  it('names the actor and the reason of every mutation in the audit log', async () => {
    const h = bearer(w.tokens.operator);
    const operator = actorOf((await authenticate(w.pool, w.tokens.operator))!);
    const admin = actorOf((await authenticate(w.pool, w.tokens.admin))!);
    const before = Number((await w.pool.query('SELECT max(n) AS n FROM rsync.apply_log')).rows[0].n ?? 0);
    const post = (path: string, body: unknown, hh: Record<string, string> = h) =>
      call({ method: 'POST', path }, hh, body);
    const g = w.letters.globex.id;
    // A dry run first: it says what would happen and changes nothing.
    const dry = await post('/api/dead-letters/bulk', { action: 'resolve', ids: [g], reason: 'checked by hand' });
    expect(JSON.parse(dry.text)).toMatchObject({ dryRun: true, letters: [{ id: g, status: 'open' }] });
    expect((await openLetters()).find((l) => l.id === g)?.status).toBe('open');
    expect((await post(`/api/dead-letters/${g}/discard`, {})).status).toBe(400); // a discard needs a reason
    expect((await post(`/api/dead-letters/${g}/edit`, { payload: '{ not json', retry: false })).status).toBe(400);
    // The record as shown (PII masked), its bad quantity fixed: the masked e-mail stays "***" and is sent as read.
    const shown = JSON.parse((await call({ method: 'GET', path: `/api/dead-letters/${g}` }, h)).text).payload;
    expect(shown.customer.email).toBe('***');
    const fixed = JSON.stringify({ ...shown, qty: '3' });
    const extra = await runStock(w, 'acme', [
      { id: 1500, sku: 'SKU-1', location: 1, qty: 'x', updated_at: '2026-11-01T00:00:00Z' },
    ]);
    expect(extra.dead).toBe(1);
    const third = (await w.pool.query(`SELECT id::int FROM rsync.dead_letters WHERE key = 'stock-1500'`)).rows[0].id;
    const a = w.letters.acme.id;
    const steps: [string, unknown, Record<string, string>][] = [
      [`/api/dead-letters/${g}/assign`, { to: 'olga', reason: 'mine' }, h],
      [`/api/dead-letters/${g}/edit`, { payload: fixed, reason: 'typo in qty', retry: false }, h],
      [`/api/dead-letters/${g}/replay`, { reason: 'with the fix' }, bearer(w.tokens.admin)],
      ['/api/dead-letters/bulk', { action: 'resolve', ids: [a], reason: 'checked by hand', confirm: true }, h],
      [`/api/dead-letters/${third}/discard`, { reason: 'a test record' }, h],
    ];
    for (const [path, body, hh] of steps) {
      const got = await post(path, body, hh);
      expect(got.status, `${path}: ${got.text}`).toBe(200);
    }
    const log = await w.pool.query(`SELECT action, actor, detail FROM rsync.apply_log WHERE n > $1 ORDER BY n`, [
      before,
    ]);
    expect(log.rows.map((r) => [r.action, r.actor, r.detail.reason])).toEqual([
      ['dlq-assign', operator, 'mine'],
      ['dlq-edit', operator, 'typo in qty'],
      ['dlq-replay', admin, 'with the fix'],
      ['dlq-resolve', operator, 'checked by hand'],
      ['dlq-discard', operator, 'a test record'],
    ]);
    expect(operator).toMatch(/^token:[a-z0-9]{12} olga \(operator\)$/);
    // The edit's entry names the fields it changed, never their values.
    expect(log.rows[1].detail.fields).toEqual(['qty']);
    expect(JSON.stringify(log.rows)).not.toContain(PII);
    const status = async (id: number) =>
      (await w.pool.query(`SELECT status FROM rsync.dead_letters WHERE id = $1`, [id])).rows[0].status;
    expect([await status(g), await status(a), await status(third)]).toEqual(['replayed', 'resolved', 'discarded']);
    // The edit landed, with the e-mail address as read (the mask restored), not "***".
    const written = await w.pool.query(
      `SELECT record FROM rsync_sandbox.writes WHERE system = 'globex/shop' AND key = $1`,
      [w.letters.globex.key],
    );
    expect(written.rows[0].record.available).toBe(3);
  });

  it('resolves an open dead letter by itself when the same key is written later', async () => {
    const rec = (qty: string) => ({ id: 1600, sku: 'SKU-2', location: 2, qty, updated_at: '2026-11-01T00:00:00Z' });
    expect((await runStock(w, 'acme', [rec('oops')])).dead).toBe(1);
    const letter = async () =>
      (await w.pool.query(`SELECT status, resolved_by, resolution FROM rsync.dead_letters WHERE key = 'stock-1600'`))
        .rows[0];
    expect((await letter()).status).toBe('open');
    await w.pool.query(`DELETE FROM rsync_sandbox.records WHERE system = 'acme/erp' AND id = '1600'`);
    const run = await runStock(w, 'acme', [{ ...rec('8'), updated_at: '2026-11-02T00:00:00Z' }]);
    expect(run.written).toBe(1);
    expect(await letter()).toEqual({
      status: 'resolved',
      resolved_by: 'rsync',
      resolution: { reason: 'the same key was written later', run: run.id },
    });
  });

  it('follows a record by any id through its flows — received, written — and shows a customer viewer only its own', async () => {
    // The same order id at two customers: each its own webhook, its own flow, its own ERP.
    for (const c of ['acme', 'globex']) {
      const order = {
        id: 4242,
        created_at: '2026-11-20T10:00:00Z',
        currency: 'USD',
        total_price: '9.99',
        line_items: [{ sku: 'A', quantity: 1, price: '9.99' }],
      };
      const body = Buffer.from(JSON.stringify(order));
      const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, {
        deliveryId: `${c}-d-4242`,
        topic: 'orders/create',
      });
      expect((await fetch(`${w.base}/hooks/${c}/orders`, { method: 'POST', headers, body })).status).toBe(202);
    }
    await until('both orders written', async () => {
      const dead = await w.pool.query(`SELECT error FROM rsync.dead_letters WHERE key = 'order-4242'`);
      if (dead.rows.length) throw new Error(dead.rows[0].error);
      const r = await w.pool.query(`SELECT count(*)::int AS n FROM rsync.ledger WHERE key = 'order-4242'`);
      return r.rows[0].n === 2 ? true : undefined;
    });
    const journey = async (t: string, q: string) =>
      JSON.parse((await call({ method: 'GET', path: `/api/journey?q=${q}` }, bearer(t))).text).flows as {
        address: string;
        key: string;
        targetId: string;
        steps: { step: string; detail: string }[];
      }[];
    for (const q of ['4242', 'order-4242', 'acme-d-4242']) {
      const all = await journey(w.tokens.viewer, q);
      const acme = all.find((f) => f.address === 'acme/flow/orders');
      expect(
        acme?.steps.map((s) => s.step),
        q,
      ).toEqual(['received', 'written']);
      if (q !== 'acme-d-4242')
        expect(
          all.map((f) => f.address),
          q,
        ).toEqual(['acme/flow/orders', 'globex/flow/orders']);
      const mine = await journey(w.tokens.acmeViewer, q);
      expect(
        mine.map((f) => f.address),
        q,
      ).toEqual(['acme/flow/orders']);
    }
    // By the target's id too: the ERP's id of acme's order finds acme's only.
    const acmeId = (await journey(w.tokens.viewer, 'order-4242'))[0].targetId;
    expect((await journey(w.tokens.viewer, acmeId)).map((f) => f.address)).toEqual(['acme/flow/orders']);
    expect(await journey(w.tokens.globexViewer, 'acme-d-4242')).toEqual([]);
  });

  it('approves a plan awaiting approval as the signed-in person: a viewer may not, the same person twice counts once', async () => {
    const { hash, restore } = await planAwaitingApproval(w);
    try {
      const approve = (headers: Record<string, string>, reason?: string) =>
        call({ method: 'POST', path: `/api/approvals/${hash}/approve` }, headers, { reason });
      const approvals = async () =>
        (await w.pool.query(`SELECT approver, reason FROM rsync.approvals WHERE plan_hash = $1 ORDER BY at`, [hash]))
          .rows;

      // A viewer and a customer viewer: 403, nothing recorded; an unknown plan is 404.
      for (const t of [w.tokens.viewer, w.tokens.acmeViewer]) {
        const r = await approve(bearer(t));
        expect(r.status, r.text).toBe(403);
        expect(JSON.parse(r.text).error).toMatch(/role may not approve this/);
      }
      expect(await approvals()).toEqual([]);
      expect(
        (await call({ method: 'POST', path: `/api/approvals/${'0'.repeat(64)}/approve` }, bearer(w.tokens.operator)))
          .status,
      ).toBe(404);

      // The operator, signed in to the console: without the session's CSRF token 403; with it, 1 of 2.
      const s = await signIn(w.tokens.operator);
      expect((await approve({ cookie: s.value })).status).toBe(403);
      const first = await approve({ cookie: s.value, 'x-csrf-token': s.json.csrf! }, 'reviewed in the console');
      expect(first.status, first.text).toBe(200);
      expect(JSON.parse(first.text)).toMatchObject({ recorded: true, required: 2, missing: 1 });
      // The same person again (by a token this time) counts once.
      const again = await approve(bearer(w.tokens.operator));
      expect(JSON.parse(again.text)).toMatchObject({ recorded: false, required: 2, missing: 1, logEntry: null });

      // The Changes page's view: n of N, and who.
      const changes = JSON.parse((await call({ method: 'GET', path: '/api/changes' }, bearer(w.tokens.viewer))).text);
      const olga = (await authenticate(w.pool, w.tokens.operator))!;
      expect(changes.approvals).toMatchObject([
        { hash, required: 2, missing: 1, approvals: [{ approver: actorOf(olga), reason: 'reviewed in the console' }] },
      ]);
      // A customer viewer sees no plans.
      expect(
        JSON.parse((await call({ method: 'GET', path: '/api/changes' }, bearer(w.tokens.acmeViewer))).text).approvals,
      ).toEqual([]);
      // Audited once, as approvePlan does.
      const log = await w.pool.query(`SELECT actor, detail FROM rsync.apply_log WHERE action = 'approve' ORDER BY n`);
      expect(log.rows).toMatchObject([
        {
          actor: actorOf(olga),
          detail: { planHash: hash, reason: 'reviewed in the console', approvals: 1, required: 2 },
        },
      ]);
    } finally {
      await restore();
    }
  });

  it('reads no request body over 1 MB (413)', async () => {
    const r = await fetch(`${w.base}/api/dead-letters/${w.letters.acme.id}/edit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(w.tokens.operator) },
      body: JSON.stringify({ payload: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(r.status).toBe(413);
  });

  it('limits failed sign-ins per address: the 11th in a minute is 429 with Retry-After, even with a good token', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push((await signIn(`rsy_bbbbbbbbbbbb_${'y'.repeat(43)}`)).status);
    expect(codes).toEqual(Array(10).fill(401));
    const r = await fetch(`${w.base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: w.tokens.viewer }),
    });
    expect(r.status).toBe(429);
    const wait = Number(r.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
  });
});
