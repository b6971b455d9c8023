/**
 * The console's sign-in: an API token (engine/auth/tokens.ts) is exchanged for a session — a token of kind
 * `session` whose parent is the API token, kept in an HttpOnly cookie. A session ends when it expires, when it is
 * signed out, and at once when its parent is revoked or expires (checked on every request, in the same query).
 *
 * Each session has a CSRF token the pages send in a header with every mutation: derived from the session's secret
 * (a keyed hash of it), so it is never stored and only a holder of the cookie's value can know it — which a page of
 * another site cannot (HttpOnly, SameSite=Strict).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { SignedIn } from '../auth/oidc.js';
import { authenticate, createToken, type Identity } from '../auth/tokens.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** How long a session lasts (it ends sooner when its API token is revoked or expires). */
export const SESSION_MS = 12 * 60 * 60 * 1000;

export interface Session {
  /** The cookie's value: the session token itself. */
  token: string;
  identity: Identity;
  csrf: string;
  expiresAt: string;
}

/** The CSRF token of a session (from its cookie's value). */
export const csrfOf = (sessionToken: string) =>
  createHash('sha256').update(`rsync-console-csrf\n${sessionToken}`).digest('base64url');

/** Sign in with an API token: a new session of its identity, or null when the token is not valid. */
export async function signIn(db: Queryable, apiToken: string): Promise<Session | null> {
  const who = await authenticate(db, apiToken);
  if (who?.kind !== 'api') return null;
  const left = who.expiresAt ? Date.parse(who.expiresAt) - Date.now() : SESSION_MS;
  const { token, row } = await createToken(db, {
    kind: 'session',
    name: who.name,
    role: who.role,
    customer: who.customer ?? undefined,
    expiresInMs: Math.max(1000, Math.min(SESSION_MS, left)),
    createdBy: `token:${who.id}`,
  });
  await db.query('UPDATE rsync.tokens SET parent = $2 WHERE id = $1', [row.id, who.id]);
  const { createdAt: _c, createdBy: _b, revokedAt: _r, revokedBy: _rb, lastUsedAt: _l, ...identity } = row;
  return { token, identity: { ...identity, id: who.id }, csrf: csrfOf(token), expiresAt: row.expiresAt! };
}

/**
 * A session for a person the identity provider signed in (OpenID Connect, engine/auth/oidc.ts): their name, mapped
 * role and customer, no parent token — it lasts SESSION_MS or until signed out. Who they are at the provider is its
 * `createdBy`.
 */
export async function openPersonSession(db: Queryable, who: SignedIn): Promise<Session> {
  const { token, row } = await createToken(db, {
    kind: 'session',
    name: who.name,
    role: who.role,
    customer: who.customer ?? undefined,
    expiresInMs: SESSION_MS,
    createdBy: `oidc:${who.issuer}#${who.subject}`,
  });
  const { createdAt: _c, createdBy: _b, revokedAt: _r, revokedBy: _rb, lastUsedAt: _l, ...identity } = row;
  return { token, identity, csrf: csrfOf(token), expiresAt: row.expiresAt! };
}

/**
 * The identity a session cookie proves, or null (unknown, expired, signed out, or its API token revoked or
 * expired). The identity is the API token's: the audit names the token that signed in, not the session.
 */
export async function sessionIdentity(db: Queryable, sessionToken: string | undefined): Promise<Identity | null> {
  const who = await authenticate(db, sessionToken);
  if (who?.kind !== 'session') return null;
  // A session opened with an API token ends with it; one opened otherwise (OpenID Connect) has no parent.
  const { rows } = await db.query<{ parent: string | null }>(
    `SELECT s.parent FROM rsync.tokens s LEFT JOIN rsync.tokens p ON p.id = s.parent
      WHERE s.id = $1 AND (s.parent IS NULL OR (p.kind = 'api' AND p.revoked_at IS NULL AND (p.expires_at IS NULL OR p.expires_at > now())))`,
    [who.id],
  );
  if (!rows[0]) return null;
  return { ...who, id: rows[0].parent ?? who.id, kind: rows[0].parent ? 'api' : 'session' };
}

/** Sign out: the session is revoked (its cookie is refused from then on). */
export async function signOut(db: Queryable, sessionToken: string): Promise<void> {
  const id = /^rsy_([a-z0-9]{12})_/.exec(sessionToken)?.[1];
  if (id)
    await db.query(
      `UPDATE rsync.tokens SET revoked_at = now(), revoked_by = 'signed out' WHERE id = $1 AND kind = 'session' AND revoked_at IS NULL`,
      [id],
    );
}
