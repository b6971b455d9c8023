/**
 * OpenID Connect sign-in to the console (issue 17): the console's two routes (engine/console/oidc.ts) against a real
 * OpenID provider (oidc-provider, test/helpers/oidc-provider.ts) on 127.0.0.1, the browser's part played by fetch
 * following the provider's redirects. A mapped person gets a console session (no parent token) with the mapped role,
 * and the session cookie a token sign-in sets; an unmapped one gets a 403 page saying why, and no cookie; the
 * sign-in page links to the provider.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOidc } from '../../engine/auth/oidc.js';
import { defaultAssets } from '../../engine/console/app.js';
import { type OidcRoutes, oidcRoutes } from '../../engine/console/oidc.js';
import { serveConsole } from '../../engine/console/serve.js';
import { Mapper } from '../../engine/runtime/mapping/mapper.js';
import { closeServer } from '../../engine/runtime/server.js';
import { migrate } from '../../engine/state/migrate.js';
import { chromiumPath } from '../../engine/report/pdf.js';
import { ROOT } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { followToCallback, startProvider, type TestProvider } from '../helpers/oidc-provider.js';

const SECRET_ENV = 'RSYNC_TEST_CONSOLE_OIDC_SECRET';

describe('OpenID Connect sign-in to the console', { timeout: 30_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let idp: TestProvider;
  let served: Awaited<ReturnType<typeof serveConsole>>;
  let base: string;
  const mapper = new Mapper(0);

  beforeAll(async () => {
    db = await testDatabase('console_oidc');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test console oidc' });
    await migrate(pool);
    if (!existsSync(path.join(defaultAssets(), 'index.html')))
      throw new Error('The console’s pages are not built: run `npm run build` first.');
    // The console listens first (the provider must know its callback); its routes are set once the provider is up.
    let routes: OidcRoutes | undefined;
    served = await serveConsole(
      {
        pool,
        env: 'staging',
        rt: { db: pool, mapper, worker: 'test', sandbox: true },
        oidc: {
          get label() {
            return routes!.label;
          },
          login: (c) => routes!.login(c),
          callback: (c) => routes!.callback(c),
        },
      },
      0,
      '127.0.0.1',
    );
    base = `http://127.0.0.1:${served.port}`;
    idp = await startProvider(
      { carol: { groups: ['rsync-admins'] }, sam: { groups: ['support'] }, eve: { groups: ['marketing'] } },
      `${base}/auth/oidc/callback`,
    );
    process.env[SECRET_ENV] = idp.clientSecret;
    const oidc = await openOidc({
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: { secretRef: `env:${SECRET_ENV}` },
      redirectUrl: idp.redirectUrl,
      scopes: ['email', 'profile', 'groups'],
      roles: { claim: 'groups', map: { 'rsync-admins': 'admin', support: 'operator' } },
    });
    routes = oidcRoutes(pool, oidc);
  });

  afterAll(async () => {
    delete process.env[SECRET_ENV];
    if (served) await closeServer(served.server);
    await idp?.close();
    await mapper.close();
    await pool?.end();
    await db?.drop();
  });

  /** Login → provider → callback, as `user`: the callback's answer. */
  async function signIn(user: string) {
    idp.user = user;
    const login = await fetch(`${base}/auth/oidc/login`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const location = login.headers.get('location')!;
    expect(location.startsWith(`${idp.issuer}/`)).toBe(true);
    const state = login.headers.getSetCookie().find((c) => c.startsWith('rsync_oidc='))!;
    expect(state).toMatch(/; HttpOnly; SameSite=Lax; Max-Age=600$/);
    const callback = await followToCallback(location, idp.redirectUrl);
    return fetch(callback, { redirect: 'manual', headers: { cookie: state.split(';')[0] } });
  }

  const sessionCookie = (r: Response) => r.headers.getSetCookie().find((c) => c.startsWith('rsync_session='));

  it('signs a mapped person in: a session with the mapped role and their name, no parent token, the session cookie', async () => {
    const r = await signIn('sam');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/');
    const cookie = sessionCookie(r)!;
    expect(cookie).toMatch(
      /^rsync_session=rsy_[a-z0-9]{12}_[^;]+; Max-Age=43(200|19\d); Path=\/; HttpOnly; SameSite=Strict$/,
    );
    // The state cookie is cleared.
    expect(r.headers.getSetCookie()).toContain('rsync_oidc=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0');

    const me = await fetch(`${base}/api/session`, { headers: { cookie: cookie.split(';')[0] } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { identity: Record<string, unknown>; csrf: string; may: Record<string, boolean> };
    expect(body.identity).toMatchObject({ name: 'sam@acme.example', role: 'operator', customer: null });
    expect(body.may).toEqual({ operate: true, payloads: true, approve: true });
    expect(body.csrf).toMatch(/^[\w-]{43}$/);
    const { rows } = await pool.query(`SELECT kind, name, role, parent, created_by FROM rsync.tokens WHERE id = $1`, [
      body.identity.id,
    ]);
    expect(rows).toEqual([
      {
        kind: 'session',
        name: 'sam@acme.example',
        role: 'operator',
        parent: null,
        created_by: `oidc:${idp.issuer}#sam`,
      },
    ]);

    // The strongest mapped group decides: carol is an admin.
    const carol = sessionCookie(await signIn('carol'))!;
    const who = await fetch(`${base}/api/session`, { headers: { cookie: carol.split(';')[0] } });
    expect(((await who.json()) as { identity: { role: string } }).identity.role).toBe('admin');
  });

  it('refuses an unmapped person with a 403 page saying why, and sets no session cookie', async () => {
    const before = Number((await pool.query(`SELECT count(*) FROM rsync.tokens`)).rows[0].count);
    const r = await signIn('eve');
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toContain('text/html');
    const page = await r.text();
    expect(page).toContain('eve@acme.example has no role in this console: none of their groups is mapped to one.');
    expect(page).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack
    expect(sessionCookie(r)).toBeUndefined();
    expect(Number((await pool.query(`SELECT count(*) FROM rsync.tokens`)).rows[0].count)).toBe(before);
  });

  it('refuses a callback without the browser’s state cookie (400), and shows the provider link on the sign-in page', async () => {
    idp.user = 'sam';
    const login = await fetch(`${base}/auth/oidc/login`, { redirect: 'manual' });
    const callback = await followToCallback(login.headers.get('location')!, idp.redirectUrl);
    const r = await fetch(callback, { redirect: 'manual' });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('could not be matched to this browser');
    expect(sessionCookie(r)).toBeUndefined();

    const page = await (await fetch(`${base}/`)).text();
    const json = /<script type="application\/json" id="branding">(.*?)<\/script>/.exec(page)![1];
    expect(JSON.parse(json).signInWith).toEqual({
      label: `Sign in with ${new URL(idp.issuer).host}`,
      href: '/auth/oidc/login',
    });
  });

  it('in Chromium: the sign-in page’s link goes to the provider and back, signed in', async () => {
    if (!existsSync(chromiumPath())) throw new Error(`No Chromium at ${chromiumPath()}: install Debian's chromium.`);
    const artifacts = path.join(ROOT, 'test', 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
    try {
      const page = await (await browser.newContext({ viewport: { width: 1200, height: 700 } })).newPage();
      await page.goto(`${base}/`);
      const link = page.getByRole('link', { name: `Sign in with ${new URL(idp.issuer).host}` });
      await link.waitFor();
      await page.screenshot({ path: path.join(artifacts, 'console-sign-in-oidc.png') });
      idp.user = 'carol';
      await link.click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what a reader sees
      expect(await page.locator('header').innerText()).toContain('carol@acme.example · admin');
    } finally {
      await browser.close();
    }
  });
});
