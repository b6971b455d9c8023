/**
 * The console's OpenID Connect sign-in (the flow itself is engine/auth/oidc.ts): its two routes, outside /api/.
 *
 *   GET /auth/oidc/login     → to the provider, with the sealed state cookie
 *   GET /auth/oidc/callback  → the person signed in: a console session for them (their name, mapped role and
 *                              customer; no parent token), the session cookie set as a token sign-in sets it, and
 *                              back to the console. Refused: a page saying why — 403 when the person has no role
 *                              (or two customers), 400 when the answer cannot be matched to this browser's sign-in.
 *
 * The callback's URL is rebuilt from `redirectUrl` (the one registered at the provider) and the query the browser
 * brought, so a proxy in front of the console does not change what is sent to the provider.
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type pg from 'pg';
import {
  finishSignIn,
  type Oidc,
  openOidc,
  STATE_COOKIE,
  SignInRefused,
  startSignIn,
  stateCookieHeader,
} from '../auth/oidc.js';
import { declaredConsoleOidcAt } from '../workspace/environment.js';
import { escapeHtml, setSessionCookie } from './http.js';
import { openPersonSession } from './sessions.js';

export interface OidcRoutes {
  /** What the sign-in page's link says: "Sign in with <issuer host>". */
  label: string;
  login: (c: Context) => Response | Promise<Response>;
  callback: (c: Context) => Response | Promise<Response>;
}

/**
 * The routes of the workspace's OpenID Connect sign-in (rsync.yaml spec.console.oidc), or undefined when it has
 * none. The provider's discovery document is read now: an unreachable provider fails the console's start (exit 69).
 */
export async function declaredOidcRoutes(
  db: Pick<pg.Pool, 'query'>,
  root: string | undefined,
): Promise<OidcRoutes | undefined> {
  const settings = root ? await declaredConsoleOidcAt(root) : undefined;
  return settings ? oidcRoutes(db, await openOidc(settings)) : undefined;
}

/** The routes of `oidc` (openOidc of rsync.yaml's spec.console.oidc), opening sessions in `db`. */
export function oidcRoutes(db: Pick<pg.Pool, 'query'>, oidc: Oidc): OidcRoutes {
  return {
    label: `Sign in with ${new URL(oidc.settings.issuer).host}`,
    async login(c) {
      const { redirectUrl, stateCookie } = await startSignIn(oidc);
      c.header('set-cookie', stateCookieHeader(oidc, stateCookie));
      c.header('cache-control', 'no-store');
      return c.redirect(redirectUrl, 302);
    },
    async callback(c) {
      const at = new URL(oidc.settings.redirectUrl);
      at.search = new URL(c.req.url).search;
      c.header('set-cookie', stateCookieHeader(oidc, ''), { append: true });
      c.header('cache-control', 'no-store');
      try {
        const who = await finishSignIn(oidc, at, getCookie(c, STATE_COOKIE.name));
        setSessionCookie(c, await openPersonSession(db, who));
        return c.redirect('/', 302);
      } catch (e) {
        if (!(e instanceof SignInRefused)) throw e;
        const status = e.reason === 'no-role' || e.reason === 'two-customers' ? 403 : 400;
        return c.html(refusedPage(e.message, e.hint), status);
      }
    },
  };
}

function refusedPage(message: string, hint: string | undefined): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<h1>Sign-in refused</h1>
<p>${escapeHtml(message)}</p>
${hint ? `<p>${escapeHtml(hint)}</p>` : ''}
<p><a href="/">Back to the sign-in page</a></p>
</body></html>`;
}
