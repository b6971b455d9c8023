/**
 * console/: the web console (issue 17) — a Hono app with a JSON API under /api/ and the pages (a Preact front end,
 * engine/console/web/, built by Vite into .build/console/). `rsync console` serves it alone; `rsync worker
 * --console` serves it on the worker's port, for the paths the worker's own server does not own.
 *
 * It owns: sign-in (a token for a session cookie), per-request authorisation, and the reads and dead-letter actions
 * of the pages. It must not touch: what plan, apply and the runtime decide (it calls them), the OpenID Connect flow
 * (engine/auth/oidc.ts; console/oidc.ts makes its two routes, mounted where `ConsoleOptions.oidc` says).
 *
 * Authorisation, on the server, for every request to /api/ but the sign-in:
 * - `Authorization: Bearer <API token>` (scripts), or the session cookie (the pages); neither, or an unknown,
 *   expired or revoked one: 401. A revoked token is refused at the next request: nothing is cached.
 * - a mutation with the cookie needs the session's CSRF token in `X-CSRF-Token` (403 without); Bearer calls need
 *   none (a browser never adds that header by itself).
 * - the role must allow the action (engine/auth/tokens.ts `can`): 403 when it does not — decided before any object
 *   is looked up, so a refusal says nothing about what exists.
 * - a customer viewer's scope is its customer, applied in SQL: another customer's objects are 404, exactly as ones
 *   that do not exist, and appear in no list, total, search or error.
 * - sign-in failures are rate-limited per client address (10 a minute: 429 with Retry-After).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie } from 'hono/cookie';
import type pg from 'pg';
import { type ApprovalRule, approvePlan, pendingPlan } from '../apply/approvals.js';
import { type Action, actorOf, authenticate as byToken, can, type Identity } from '../auth/tokens.js';
import { redact } from '../connectors/secrets.js';
import { RsyncError } from '../diagnostics/errors.js';
import type { RuntimeContext } from '../runtime/page-loop.js';
import { declaredApprovalsAt } from '../workspace/environment.js';
import type { DeadLetterStatus } from '../state/dead-letters.js';
import { customerQueryable } from '../state/tenancy.js';
import {
  actOnLetters,
  type ActionInput,
  BadRequest,
  editAndRetry,
  LETTER_ACTIONS,
  type LetterAction,
} from './actions.js';
import { type ConsoleBranding, consoleBranding } from './branding.js';
import {
  changes,
  deadLetter,
  deadLetterList,
  FlowCache,
  flowPage,
  journey,
  overview,
  runPage,
  type Scope,
} from './data.js';
import { SignInLimiter } from './rate-limit.js';
import { escapeHtml, isHttps, SESSION_COOKIE, setSessionCookie } from './http.js';
import type { OidcRoutes } from './oidc.js';
import { csrfOf, sessionIdentity, signIn, signOut } from './sessions.js';

export { SESSION_COOKIE } from './http.js';
export const CSRF_HEADER = 'x-csrf-token';
const MAX_BODY = 1024 * 1024;

export interface ConsoleOptions {
  pool: pg.Pool;
  env: string;
  /** What replays run with: the worker's context under `worker --console`, a mapper of its own otherwise. */
  rt: RuntimeContext;
  /** The workspace's root, when the console runs in one: its rsync.yaml fills in the branding. */
  root?: string;
  /** The built pages (default: .build/console/ of this package). */
  assets?: string;
  /** Sign-in failures allowed per client address and minute (default 10). */
  signInFailuresPerMinute?: number;
  /**
   * OpenID Connect sign-in (console/oidc.ts `oidcRoutes`, when rsync.yaml has spec.console.oidc): its two routes,
   * mounted at GET /auth/oidc/login and GET /auth/oidc/callback, outside /api/ (the browser is sent there
   * unauthenticated); the sign-in page links to the first.
   */
  oidc?: OidcRoutes;
  log?: (line: string) => void;
}

/**
 * `db` and `cache`: what the request reads through. A customer viewer's go through row-level security
 * (state/tenancy.ts): each query as the role rsync_tenant for its customer, the deployed flows read the same way.
 */
type Vars = {
  who: Identity;
  scope: Scope;
  via: 'bearer' | 'cookie';
  db: Pick<pg.Pool, 'query'>;
  cache: FlowCache;
};
type C = Context<{ Variables: Vars }>;

const notFound = (c: Context) => c.json({ error: 'not found' }, 404);

/** The console's Hono app. */
export function consoleApp(o: ConsoleOptions): Hono<{ Variables: Vars }> {
  const db = o.pool;
  const env = o.env;
  const cache = new FlowCache(db, env);
  /** Each customer viewer's customer: its deployed flows, read under row-level security (at most 100 kept). */
  const tenantCaches = new Map<string, FlowCache>();
  const tenantCache = (customer: string) => {
    let t = tenantCaches.get(customer);
    if (!t) {
      if (tenantCaches.size >= 100) tenantCaches.delete(tenantCaches.keys().next().value!);
      t = new FlowCache(customerQueryable(db, customer), env);
      tenantCaches.set(customer, t);
    }
    return t;
  };
  const limiter = new SignInLimiter(o.signInFailuresPerMinute ?? 10, 60_000);
  const pages = new Pages(o.assets ?? defaultAssets());
  let branding: Promise<ConsoleBranding> | undefined;
  const brand = () =>
    (branding ??= consoleBranding(db, env, o.root).finally(() =>
      setTimeout(() => (branding = undefined), 30_000).unref(),
    ));

  const app = new Hono<{ Variables: Vars }>();

  app.onError((e, c) => {
    if (e instanceof RsyncError) return c.json({ error: redact(e.message), hint: e.hint }, 400);
    o.log?.(`console: ${c.req.method} ${redact(c.req.path).slice(0, 200)} failed: ${redact(e.message)}`);
    return c.json({ error: 'internal error; the console logged it' }, 500);
  });
  app.use('*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-frame-options', 'DENY');
    if (c.req.path.startsWith('/api/')) c.header('cache-control', 'no-store');
  });

  // A request body is a sign-in, an action or an edited record: 1 MB is plenty, and nothing more is read.
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY,
      onError: (c) => {
        // What is still coming is not read: the connection closes after the answer.
        c.header('connection', 'close');
        return c.json({ error: `the request body is larger than ${MAX_BODY / 1024 / 1024} MB` }, 413);
      },
    }),
  );

  // ---------------------------------------------------------------------------------------- sign-in
  app.post('/api/session', async (c) => {
    const ip = clientAddress(c);
    const wait = limiter.retryAfter(ip);
    if (wait > 0) {
      c.header('retry-after', String(wait));
      return c.json({ error: `too many failed sign-ins from this address; try again in ${wait} s` }, 429);
    }
    const body = await readBody(c);
    const token = typeof body.token === 'string' ? body.token : '';
    const s = token ? await signIn(db, token) : null;
    if (!s) {
      limiter.failed(ip);
      return c.json({ error: 'sign-in refused: the token is unknown, revoked or expired' }, 401);
    }
    setSessionCookie(c, s);
    return c.json({ identity: publicIdentity(s.identity), csrf: s.csrf, expiresAt: s.expiresAt });
  });

  // Every other /api/ route: an identity, proved on every request.
  const authenticate: MiddlewareHandler<{ Variables: Vars }> = async (c, next) => {
    if (c.req.method === 'POST' && c.req.path === '/api/session') return next();
    const header = c.req.header('authorization');
    let who: Identity | null = null;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      who = m ? await byToken(db, m[1]) : null;
      if (who?.kind !== 'api') who = null;
      c.set('via', 'bearer');
    } else {
      const cookie = getCookie(c, SESSION_COOKIE);
      who = cookie ? await sessionIdentity(db, cookie) : null;
      c.set('via', 'cookie');
      if (who && !['GET', 'HEAD'].includes(c.req.method) && c.req.header(CSRF_HEADER) !== csrfOf(cookie!))
        return c.json({ error: 'missing or wrong CSRF token: send the session’s X-CSRF-Token header' }, 403);
    }
    if (!who) {
      c.header('www-authenticate', 'Bearer realm="rsync console"');
      return c.json(
        { error: 'sign in first: send a token (Authorization: Bearer <token>) or sign in to the console' },
        401,
      );
    }
    c.set('who', who);
    const customer = who.role === 'customer-viewer' ? who.customer : null;
    c.set('scope', { customer, payloads: can(who, 'payloads') });
    c.set('db', customer === null ? db : customerQueryable(db, customer));
    c.set('cache', customer === null ? cache : tenantCache(customer));
    return next();
  };
  app.use('/api/*', authenticate);

  /** 403 unless the identity's role may do `action` (before anything is looked up). */
  const allowed = (c: C, action: Action) =>
    ALLOWED_ROLE(c.get('who'), action)
      ? undefined
      : c.json(
          { error: `the ${c.get('who').role} role may not ${action === 'operate' ? 'act on' : action} this` },
          403,
        );

  app.get('/api/session', (c) =>
    c.json({
      identity: publicIdentity(c.get('who')),
      csrf: c.get('via') === 'cookie' ? csrfOf(getCookie(c, SESSION_COOKIE)!) : null,
      env,
      may: {
        operate: can(c.get('who'), 'operate'),
        payloads: can(c.get('who'), 'payloads'),
        approve: ALLOWED_ROLE(c.get('who'), 'approve'),
      },
    }),
  );
  app.delete('/api/session', async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) await signOut(db, cookie);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttps(c) });
    return c.json({ signedOut: true });
  });

  // OpenID Connect sign-in (console/oidc.ts): GET /auth/oidc/login, GET /auth/oidc/callback.
  if (o.oidc) {
    app.get('/auth/oidc/login', (c) => o.oidc!.login(c));
    app.get('/auth/oidc/callback', (c) => o.oidc!.callback(c));
  }

  // ---------------------------------------------------------------------------------------- reads
  app.get('/api/branding', async (c) => c.json(await brand()));

  // Concurrent readers of the same scope (every open overview polls) share one computation while it runs.
  const computing = new Map<string, ReturnType<typeof overview>>();
  const shared = (s: Scope) => {
    const key = `${s.customer ?? ''}`;
    let p = computing.get(key);
    if (!p) {
      p = overview(
        s.customer === null ? db : customerQueryable(db, s.customer),
        s.customer === null ? cache : tenantCache(s.customer),
        s,
      ).finally(() => computing.delete(key));
      computing.set(key, p);
    }
    return p;
  };
  /** The overview: totals of the whole scope; its flows filtered (customer, health, search) and at most `limit`. */
  app.get('/api/overview', async (c) => {
    const v = { ...(await shared(c.get('scope'))) };
    const { customer, health, q, limit } = c.req.query();
    const needle = q?.toLowerCase();
    const flows = v.flows.filter(
      (f) =>
        (!customer || f.customer === customer) &&
        (!health || f.health === health) &&
        (!needle || f.address.toLowerCase().includes(needle)),
    );
    const n = limit === undefined ? flows.length : Number(limit);
    if (!Number.isSafeInteger(n) || n < 0) throw new BadRequest('"limit" must be a whole number of flows');
    return c.json({ ...v, matched: flows.length, flows: flows.slice(0, n) });
  });

  app.get('/api/flows/:customer/:flow', async (c) => {
    const p = await flowPage(
      c.get('db'),
      c.get('cache'),
      c.get('scope'),
      `${c.req.param('customer')}/flow/${c.req.param('flow')}`,
    );
    return p ? c.json(p) : notFound(c);
  });

  app.get('/api/runs/:id', async (c) => {
    const r = await runPage(c.get('db'), env, c.get('scope'), Number(c.req.param('id')));
    return r ? c.json(r) : notFound(c);
  });

  app.get('/api/dead-letters', async (c) => {
    const q = c.req.query();
    const status = q.status as DeadLetterStatus | 'all' | undefined;
    if (status && !['open', 'replayed', 'discarded', 'resolved', 'all'].includes(status))
      throw new BadRequest(`unknown status "${status}"`, 'The statuses are open, replayed, discarded, resolved, all.');
    return c.json(
      await deadLetterList(c.get('db'), env, c.get('scope'), {
        flow: q.flow,
        error: q.error,
        status,
        assignee: q.assignee,
        customer: q.customer,
        limit: q.limit ? Number(q.limit) : undefined,
      }),
    );
  });

  app.get('/api/dead-letters/:id', async (c) => {
    const l = await deadLetter(c.get('db'), env, c.get('scope'), Number(c.req.param('id')));
    return l ? c.json(l) : notFound(c);
  });

  app.get('/api/journey', async (c) =>
    c.json({
      q: c.req.query('q') ?? '',
      flows: await journey(c.get('db'), c.get('cache'), c.get('scope'), c.req.query('q') ?? ''),
    }),
  );

  /** The environment's approval rule: the working tree's rsync.yaml says it (none without a workspace). */
  const approvalRule = async (): Promise<ApprovalRule> =>
    o.root ? declaredApprovalsAt(o.root, env) : { env, requiresApproval: false, required: 1, separateAuthor: false };

  app.get('/api/changes', async (c) =>
    c.json(await changes(c.get('db'), db, env, c.get('scope'), await approvalRule())),
  );

  // ---------------------------------------------------------------------------------------- approvals
  /** Approve a plan awaiting approval, as the signed-in person (apply/approvals.ts approvePlan: audited, once each). */
  app.post('/api/approvals/:hash/approve', async (c) => {
    const refused = allowed(c, 'approve');
    if (refused) return refused;
    const hash = c.req.param('hash');
    const plan = /^[0-9a-f]{16,128}$/.test(hash) ? await pendingPlan({ pool: db }, env, hash) : undefined;
    if (!plan) return notFound(c);
    const body = await readBody(c);
    const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim() : undefined;
    const who = c.get('who');
    const out = await approvePlan({ pool: db }, plan, {
      actor: actorOf(who),
      identity: who,
      rule: await approvalRule(),
      reason,
    });
    return c.json(out);
  });

  // ---------------------------------------------------------------------------------------- dead-letter actions
  for (const action of LETTER_ACTIONS)
    app.post(`/api/dead-letters/:id/${action}`, async (c) => {
      const refused = allowed(c, 'operate');
      if (refused) return refused;
      const l = await deadLetter(db, env, c.get('scope'), Number(c.req.param('id')));
      if (!l) return notFound(c);
      const body = await readBody(c);
      const input = actionInput(action, [l.id], body);
      return c.json(await actOnLetters(o.rt, env, [l], input, actorOf(c.get('who')), body.dryRun === true));
    });

  app.post('/api/dead-letters/:id/edit', async (c) => {
    const refused = allowed(c, 'operate');
    if (refused) return refused;
    const l = await deadLetter(db, env, c.get('scope'), Number(c.req.param('id')));
    if (!l) return notFound(c);
    const body = await readBody(c);
    const text = typeof body.payload === 'string' ? body.payload : JSON.stringify(body.payload);
    if (text === undefined) throw new BadRequest('send the edited record in "payload"');
    const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim() : undefined;
    return c.json(await editAndRetry(o.rt, env, l, text, actorOf(c.get('who')), reason, body.retry !== false));
  });

  /** Many letters at once: by ids or by a filter; a dry run unless `confirm: true`. */
  app.post('/api/dead-letters/bulk', async (c) => {
    const refused = allowed(c, 'operate');
    if (refused) return refused;
    const body = await readBody(c);
    const action = String(body.action ?? '') as LetterAction;
    const scope = c.get('scope');
    let letters: Awaited<ReturnType<typeof deadLetterList>>['letters'];
    if (Array.isArray(body.ids)) {
      const ids = body.ids.map(Number).filter((n: number) => Number.isSafeInteger(n) && n > 0);
      letters = (await Promise.all(ids.map((id: number) => deadLetter(db, env, scope, id)))).filter((l) => l !== null);
    } else if (body.filter && typeof body.filter === 'object') {
      const f = body.filter as Record<string, string>;
      letters = (
        await deadLetterList(db, env, scope, {
          flow: f.flow,
          error: f.error,
          status: (f.status as DeadLetterStatus) ?? 'open',
          limit: 1000,
        })
      ).letters;
    } else throw new BadRequest('name the letters: "ids": [..] or "filter": { "flow", "error", "status" }');
    const input = actionInput(
      action,
      letters.map((l) => l.id),
      body,
    );
    return c.json(await actOnLetters(o.rt, env, letters, input, actorOf(c.get('who')), body.confirm !== true));
  });

  app.all('/api/*', (c) => c.json({ error: 'no such API route' }, 404));

  // ---------------------------------------------------------------------------------------- pages
  app.get('/assets/*', (c) => pages.asset(c));
  app.get('*', async (c) =>
    pages.page(c, {
      ...(await brand()),
      signInWith: o.oidc ? { label: o.oidc.label, href: '/auth/oidc/login' } : undefined,
    }),
  );
  return app;
}

/** The roles' rights, plus: nobody operates through a customer viewer's scope (can() needs the customer). */
const ALLOWED_ROLE = (who: Identity, action: Action) =>
  who.role === 'customer-viewer' ? action === 'read' : can(who, action);

const publicIdentity = (w: Identity) => ({
  id: w.id,
  name: w.name,
  role: w.role,
  customer: w.customer,
  expiresAt: w.expiresAt,
});

function actionInput(action: LetterAction, ids: number[], body: Record<string, unknown>): ActionInput {
  const revision = body.revision === undefined ? undefined : Number(body.revision);
  if (revision !== undefined && (!Number.isSafeInteger(revision) || revision < 1))
    throw new BadRequest('"revision" must be a revision number (1, 2, …)');
  return {
    action,
    ids,
    reason: typeof body.reason === 'string' ? body.reason : undefined,
    to: typeof body.to === 'string' ? body.to : undefined,
    revision,
  };
}

async function readBody(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (type.includes('application/x-www-form-urlencoded') || type.includes('multipart/form-data'))
    return Object.fromEntries(Object.entries(await c.req.parseBody()).map(([k, v]) => [k, String(v)]));
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {}
  throw new BadRequest('the request body is not a JSON object', 'Send Content-Type: application/json and an object.');
}

function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// ------------------------------------------------------------------------------------------ the built pages

/** The package's root (from engine/console/ in the sources or .build/engine/console/ in the build). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export const defaultAssets = () => path.join(packageRoot(), '.build', 'console');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** The built pages: index.html for every page path (the front end routes), files under /assets/. */
class Pages {
  private files = new Map<string, Buffer>();
  constructor(private dir: string) {
    const assets = path.join(dir, 'assets');
    if (existsSync(assets))
      for (const f of readdirSync(assets))
        if (statSync(path.join(assets, f)).isFile()) this.files.set(f, readFileSync(path.join(assets, f)));
  }

  asset(c: Context): Response {
    const name = c.req.path.slice('/assets/'.length);
    const body = this.files.get(name);
    if (!body) return c.text('not found', 404);
    c.header('content-type', TYPES[path.extname(name)] ?? 'application/octet-stream');
    c.header('cache-control', 'public, max-age=31536000, immutable'); // Vite names assets by content hash
    return c.body(new Uint8Array(body));
  }

  private index?: string;

  page(c: Context, b: ConsoleBranding): Response {
    const file = path.join(this.dir, 'index.html');
    if (this.index === undefined && existsSync(file)) this.index = readFileSync(file, 'utf8');
    if (this.index === undefined)
      return c.text('The console’s pages are not built: run `npm run build` (npm ci does) in rsync’s folder.', 503);
    // The branding rides in the page (it is not secret): the sign-in page wears it before anyone signed in.
    const json = JSON.stringify(b).replace(/</g, '\\u003c');
    const html = this.index
      .replace('<!--branding-->', `<script type="application/json" id="branding">${json}</script>`)
      .replace('<title>rsync console</title>', `<title>${escapeHtml(b.productName)}</title>`);
    c.header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    c.header('cache-control', 'no-store');
    return c.html(html);
  }
}
