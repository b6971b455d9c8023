/**
 * Identities and roles, one model for the console and the CLI (issue 17). An identity is a token: `rsy_<id>_<secret>`,
 * the id public (it names the token in lists, logs and the audit), the secret 32 random bytes shown once at creation
 * and kept only as its SHA-256 (rsync.tokens, migration 015). A token has a role, and a customer viewer its one
 * customer; a revoked or expired token is refused at once, on the next request.
 *
 * The roles, and what each may do (`can`):
 *
 * | role            | read | payloads (PII masked) | operate (run, replay, edit and retry, discard, resolve, pause) | approve | admin (tokens) |
 * |-----------------|------|-----------------------|-----------------------------------------------------------------|---------|----------------|
 * | admin           | all  | yes                   | yes                                                             | yes     | yes            |
 * | operator        | all  | yes                   | yes                                                             | yes     | no             |
 * | viewer          | all  | yes                   | no                                                              | no      | no             |
 * | customer-viewer | its customer only | no       | no                                                              | no      | no             |
 *
 * Who acts (`actorOf`) is what the audit log records: `token:<id> <name> (<role>)`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';

type Queryable = Pick<pg.Pool, 'query'>;

export const ROLES = ['admin', 'operator', 'viewer', 'customer-viewer'] as const;
export type Role = (typeof ROLES)[number];
export type Action = 'read' | 'payloads' | 'operate' | 'approve' | 'admin';

export interface Identity {
  id: string;
  kind: 'api' | 'session';
  name: string;
  role: Role;
  /** A customer viewer's one customer; null for the partner's roles. */
  customer: string | null;
  expiresAt: string | null;
}

export interface TokenRow extends Identity {
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
}

const ALLOWED: Record<Role, readonly Action[]> = {
  admin: ['read', 'payloads', 'operate', 'approve', 'admin'],
  operator: ['read', 'payloads', 'operate', 'approve'],
  viewer: ['read', 'payloads'],
  'customer-viewer': ['read'],
};

/** Whether `who` may do `action`, on `customer`'s objects when one is named (a customer viewer: only its own). */
export function can(who: Identity, action: Action, customer?: string | null): boolean {
  if (!ALLOWED[who.role].includes(action)) return false;
  if (who.role === 'customer-viewer') return customer !== undefined && customer !== null && customer === who.customer;
  return true;
}

/** The audit log's name for an identity. */
export const actorOf = (who: Identity) => `token:${who.id} ${who.name} (${who.role})`;

const ACTOR = /^token:[a-z0-9]+ (.+) \((?:admin|operator|viewer|customer-viewer)\)$/;

const NAMED_EMAIL = /^[^<>]*<([^<>\s]+@[^<>\s]+)>$/;

/**
 * The person an actor is: a token's (or a console session's) name — one person may hold several tokens and sign in
 * many times — or the local user as named (RSYNC_ACTOR, the Git user); a name with an e-mail address, `Jane Doe
 * <jane@acme.example>`, is that address, and addresses are compared in lower case, so the Git user and a token or
 * OpenID session named by the same address are one person. Approvals count one per person, and an author is told
 * from an approver by it.
 */
export function personOf(actor: string): string {
  const name = ACTOR.exec(actor)?.[1] ?? actor;
  const email = NAMED_EMAIL.exec(name)?.[1] ?? (/^[^\s@<>]+@[^\s@<>]+$/.test(name) ? name : undefined);
  return email ? email.toLowerCase() : name;
}

/** The live API tokens whose role may do `action`, by name and role: who can be asked (e.g. to approve). */
export async function holdersOf(db: Queryable, action: Action): Promise<{ name: string; role: Role }[]> {
  const roles = ROLES.filter((r) => r !== 'customer-viewer' && ALLOWED[r].includes(action));
  const r = await db.query(
    `SELECT DISTINCT name, role FROM rsync.tokens
      WHERE kind = 'api' AND role = ANY($1) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
      ORDER BY name, role`,
    [roles],
  );
  return r.rows as { name: string; role: Role }[];
}

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');
const TOKEN = /^rsy_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface CreateTokenOptions {
  name: string;
  role: Role;
  customer?: string;
  /** Milliseconds from now; undefined for no expiry. */
  expiresInMs?: number;
  createdBy: string;
  kind?: 'api' | 'session';
}

/** A new token: its row and the token itself, which is never stored and cannot be shown again. */
export async function createToken(db: Queryable, o: CreateTokenOptions): Promise<{ token: string; row: TokenRow }> {
  if (!ROLES.includes(o.role))
    throw new RsyncError(`Unknown role "${o.role}"`, ExitCode.USAGE, `The roles are ${ROLES.join(', ')}.`);
  if ((o.role === 'customer-viewer') !== Boolean(o.customer))
    throw new RsyncError(
      o.role === 'customer-viewer'
        ? 'A customer viewer needs its customer: --customer <name>'
        : `--customer is only for the customer-viewer role, not ${o.role}`,
      ExitCode.USAGE,
    );
  const id = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  const expires = o.expiresInMs === undefined ? null : new Date(Date.now() + o.expiresInMs).toISOString();
  const r = await db.query(
    `INSERT INTO rsync.tokens (id, kind, name, role, customer, secret_hash, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [id, o.kind ?? 'api', o.name, o.role, o.customer ?? null, hash(secret), o.createdBy, expires],
  );
  return { token: `rsy_${id}_${secret}`, row: rowOf(r.rows[0]) };
}

/** The identity a token proves, or null: malformed, unknown, revoked, expired, or a wrong secret. */
export async function authenticate(db: Queryable, token: string | undefined): Promise<Identity | null> {
  const m = token ? TOKEN.exec(token.trim()) : null;
  if (!m) return null;
  const r = await db.query(
    `UPDATE rsync.tokens SET last_used_at = now()
      WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
      RETURNING *`,
    [m[1]],
  );
  const row = r.rows[0];
  if (!row) return null;
  const want = Buffer.from(row.secret_hash, 'hex');
  const got = Buffer.from(hash(m[2]), 'hex');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
  const { createdAt: _c, createdBy: _b, revokedAt: _r, revokedBy: _rb, lastUsedAt: _l, ...who } = rowOf(row);
  return who;
}

export async function listTokens(db: Queryable, opts: { all?: boolean } = {}): Promise<TokenRow[]> {
  const r = await db.query(
    `SELECT * FROM rsync.tokens WHERE kind = 'api' ${opts.all ? '' : 'AND revoked_at IS NULL'} ORDER BY created_at, id`,
  );
  return r.rows.map(rowOf);
}

/** Revoke a token (by its id, or the whole token): refused from the next request on. False when there is none. */
export async function revokeToken(db: Queryable, idOrToken: string, by: string): Promise<boolean> {
  const id = TOKEN.exec(idOrToken)?.[1] ?? idOrToken;
  const r = await db.query(
    'UPDATE rsync.tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL',
    [id, by],
  );
  return (r.rowCount ?? 0) > 0;
}

function rowOf(r: Record<string, unknown>): TokenRow {
  const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
  return {
    id: r.id as string,
    kind: r.kind as 'api' | 'session',
    name: r.name as string,
    role: r.role as Role,
    customer: (r.customer as string | null) ?? null,
    expiresAt: iso(r.expires_at),
    createdAt: iso(r.created_at)!,
    createdBy: r.created_by as string,
    revokedAt: iso(r.revoked_at),
    revokedBy: (r.revoked_by as string | null) ?? null,
    lastUsedAt: iso(r.last_used_at),
  };
}
