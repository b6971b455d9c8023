/**
 * OpenID Connect sign-in for the console (issue 17), with openid-client (certified, by the author of jose). The console's
 * server mounts two routes on it (engine/console/oidc.ts):
 *
 *   GET /auth/oidc/login    → startSignIn(oidc): redirect to `redirectUrl`, and set the cookie STATE_COOKIE.name to
 *                          `stateCookie` (stateCookieHeader writes the Set-Cookie line: HttpOnly, SameSite=Lax, Secure
 *                          on https, 10 minutes)
 *   GET /auth/oidc/callback → finishSignIn(oidc, the request's full URL, the cookie's value): the person, or a
 *                          SignInRefused (its `reason` says which: state, provider, no-role…); then clear the cookie
 *                          and open a session for them (tokens.ts createToken, kind 'session')
 *
 * The flow is the authorization code grant with PKCE (S256), `state` and `nonce`. What the callback must match — the
 * state, the nonce, the PKCE verifier and an expiry — travels in the state cookie, sealed (AES-256-GCM) with a key
 * derived from the client secret: the browser can neither read the verifier nor alter any of it, and a tampered or
 * foreign cookie is refused, as is a callback whose state is not the cookie's. The ID token is verified by
 * openid-client (signature against the provider's keys, issuer, audience, expiry, nonce); claims missing from it are
 * read from the userinfo endpoint. The role is the strongest of the `roles.map` values the role claim carries; a person
 * with none, and no customer from `customers.map` (exactly one), is refused.
 *
 * Configuration: rsync.yaml's `spec.console.oidc` (schemas/workspace.schema.json OidcSettings); the client secret by
 * reference only. `openOidc` reads the provider's discovery document once; an http:// issuer is accepted only on a
 * loopback address (a test provider).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { resolveSecret } from '../connectors/secrets.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import type { OidcSettings } from '../model/generated/index.js';
import type { Role } from './tokens.js';

export type { OidcSettings } from '../model/generated/index.js';

/** The cookie that carries a sign-in's state from startSignIn to finishSignIn. */
export const STATE_COOKIE = { name: 'rsync_oidc', maxAgeSeconds: 600 } as const;

/** Who signed in: what the console opens a session for. */
export interface SignedIn {
  /** The person: the name claim (email by default), else preferred_username, else sub. */
  name: string;
  role: Role;
  /** A customer viewer's one customer; null for the partner's roles. */
  customer: string | null;
  /** The provider's subject and issuer: who this is there. */
  subject: string;
  issuer: string;
}

export type SignInRefusal = 'state' | 'expired' | 'provider' | 'no-role' | 'two-customers' | 'no-name';

/** A sign-in refused: the console answers 403 (no-role, two-customers) or 400 (the rest), and shows `message`. */
export class SignInRefused extends RsyncError {
  constructor(
    readonly reason: SignInRefusal,
    message: string,
    hint?: string,
  ) {
    super(message, ExitCode.REFUSED, hint);
    this.name = 'SignInRefused';
  }
}

/** An opened provider: the settings, the discovered configuration and the cookie key. */
export interface Oidc {
  settings: OidcSettings;
  configuration: client.Configuration;
  /** AES-256-GCM key of the state cookie. */
  key: Buffer;
  secure: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const STRENGTH: Record<'admin' | 'operator' | 'viewer', number> = { admin: 3, operator: 2, viewer: 1 };

function url(setting: string, value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new RsyncError(`console.oidc.${setting} is not a URL: ${value}`, ExitCode.USAGE);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname)))
    throw new RsyncError(
      `console.oidc.${setting} must be an https:// URL (http:// only on 127.0.0.1 or localhost): ${value}`,
      ExitCode.USAGE,
      'Sign-in sends codes and tokens over it: use the https:// address.',
    );
  return u;
}

/**
 * The provider of `settings` (rsync.yaml spec.console.oidc), its discovery document read: call once when the
 * console starts. A provider that cannot be reached is exit 69.
 */
export async function openOidc(settings: OidcSettings): Promise<Oidc> {
  const issuer = url('issuer', settings.issuer);
  const redirect = url('redirectUrl', settings.redirectUrl);
  const secret = resolveSecret(settings.clientSecret);
  const insecure = issuer.protocol === 'http:';
  let discovered: client.Configuration;
  try {
    discovered = await client.discovery(issuer, settings.clientId, { client_secret: secret }, undefined, {
      execute: insecure ? [client.allowInsecureRequests] : [],
    });
  } catch (e) {
    throw new RsyncError(
      `Cannot read the OpenID provider's configuration at ${issuer.href}: ${(e as Error).message}`,
      ExitCode.UNAVAILABLE,
      'Check console.oidc.issuer in rsync.yaml (its /.well-known/openid-configuration must answer) and the network.',
    );
  }
  // The spec's default client authentication is client_secret_basic; a provider may list only client_secret_post.
  const metadata = discovered.serverMetadata();
  const methods = metadata.token_endpoint_auth_methods_supported;
  const auth =
    methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')
      ? client.ClientSecretPost(secret)
      : client.ClientSecretBasic(secret);
  const configuration = new client.Configuration(metadata, settings.clientId, { client_secret: secret }, auth);
  if (insecure) client.allowInsecureRequests(configuration);
  const key = Buffer.from(
    hkdfSync('sha256', secret, createHash('sha256').update(settings.clientId).digest(), 'rsync oidc state cookie', 32),
  );
  return { settings, configuration, key, secure: redirect.protocol === 'https:' };
}

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  /** Milliseconds since the epoch after which the sign-in is refused. */
  expires: number;
}

function seal(key: Buffer, p: Pending): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(JSON.stringify(p), 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
}

function unseal(key: Buffer, cookie: string | undefined): Pending {
  const refused = () =>
    new SignInRefused(
      'state',
      'The sign-in could not be matched to this browser (its state cookie is missing, altered or from elsewhere).',
      'Sign in again from the console; cookies must be allowed for it.',
    );
  if (!cookie) throw refused();
  try {
    const raw = Buffer.from(cookie, 'base64url');
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    const p = JSON.parse(text) as Pending;
    if (typeof p.state !== 'string' || typeof p.nonce !== 'string' || typeof p.verifier !== 'string') throw refused();
    return p;
  } catch {
    throw refused();
  }
}

/** The authorization request: where to send the browser, and the state cookie to set on it. */
export async function startSignIn(oidc: Oidc): Promise<{ redirectUrl: string; stateCookie: string }> {
  const p: Pending = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier: client.randomPKCECodeVerifier(),
    expires: Date.now() + STATE_COOKIE.maxAgeSeconds * 1000,
  };
  const scopes = new Set(['openid', ...(oidc.settings.scopes ?? ['email', 'profile'])]);
  const redirect = client.buildAuthorizationUrl(oidc.configuration, {
    redirect_uri: oidc.settings.redirectUrl,
    response_type: 'code',
    scope: [...scopes].join(' '),
    state: p.state,
    nonce: p.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(p.verifier),
    code_challenge_method: 'S256',
  });
  return { redirectUrl: redirect.href, stateCookie: seal(oidc.key, p) };
}

/** The Set-Cookie header of the state cookie (`value` ''): cleared. */
export function stateCookieHeader(oidc: Oidc, value: string): string {
  const age = value ? STATE_COOKIE.maxAgeSeconds : 0;
  return `${STATE_COOKIE.name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${age}${oidc.secure ? '; Secure' : ''}`;
}

/**
 * The provider's answer at the callback (`callbackUrl`, the full URL the browser was sent to) with the state cookie
 * startSignIn set: the code exchanged, the ID token verified, the person and their role. Refused (SignInRefused) when
 * the state does not match the cookie, the cookie expired, the provider refused or answered wrongly, or the person
 * has no mapped role.
 */
export async function finishSignIn(
  oidc: Oidc,
  callbackUrl: string | URL,
  stateCookie: string | undefined,
): Promise<SignedIn> {
  const p = unseal(oidc.key, stateCookie);
  if (Date.now() > p.expires)
    throw new SignInRefused('expired', 'The sign-in took too long (over 10 minutes).', 'Sign in again.');
  const at = new URL(callbackUrl);
  if (at.searchParams.get('state') !== p.state)
    throw new SignInRefused(
      'state',
      'The sign-in answer does not belong to the sign-in this browser started (its state differs).',
      'Sign in again from the console.',
    );
  let claims: Record<string, unknown>;
  try {
    const tokens = await client.authorizationCodeGrant(oidc.configuration, at, {
      pkceCodeVerifier: p.verifier,
      expectedState: p.state,
      expectedNonce: p.nonce,
      idTokenExpected: true,
    });
    claims = { ...(tokens.claims() as Record<string, unknown>) };
    const wanted = [oidc.settings.roles.claim, oidc.settings.customers?.claim, oidc.settings.nameClaim ?? 'email'];
    if (wanted.some((c) => c && claims[c] === undefined) && oidc.configuration.serverMetadata().userinfo_endpoint) {
      const info = await client.fetchUserInfo(oidc.configuration, tokens.access_token, claims.sub as string);
      claims = { ...info, ...claims };
    }
  } catch (e) {
    if (e instanceof SignInRefused) throw e;
    const err = e as { error?: string; error_description?: string; message: string };
    throw new SignInRefused(
      'provider',
      `The identity provider did not sign you in: ${err.error ? `${err.error}${err.error_description ? ` (${err.error_description})` : ''}` : err.message}`,
      'Sign in again; if it keeps failing, ask your administrator to check the console.oidc settings.',
    );
  }
  return mapClaims(oidc.settings, claims);
}

const valuesOf = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** The person the claims name, with the role and customer the settings map them to (see the header). */
export function mapClaims(settings: OidcSettings, claims: Record<string, unknown>): SignedIn {
  const nameClaim = settings.nameClaim ?? 'email';
  const name = [claims[nameClaim], claims.preferred_username, claims.sub].find(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
  if (!name) throw new SignInRefused('no-name', 'The identity provider named nobody (no sub claim).');
  const base = { name, subject: String(claims.sub), issuer: String(claims.iss ?? settings.issuer) };
  let role: 'admin' | 'operator' | 'viewer' | undefined;
  for (const v of valuesOf(claims[settings.roles.claim])) {
    const r = Object.hasOwn(settings.roles.map, v) ? settings.roles.map[v] : undefined;
    if (r && (!role || STRENGTH[r] > STRENGTH[role])) role = r;
  }
  if (role) return { ...base, role, customer: null };
  const c = settings.customers;
  const customers = c
    ? [...new Set(valuesOf(claims[c.claim]).flatMap((v) => (Object.hasOwn(c.map, v) ? [c.map[v]] : [])))]
    : [];
  if (customers.length === 1) return { ...base, role: 'customer-viewer', customer: customers[0] };
  if (customers.length > 1)
    throw new SignInRefused(
      'two-customers',
      `${name} belongs to more than one customer (${customers.join(', ')}); a customer viewer sees exactly one.`,
      'Ask your administrator to leave you in one customer group only.',
    );
  throw new SignInRefused(
    'no-role',
    `${name} has no role in this console: none of their ${settings.roles.claim} is mapped to one.`,
    'Ask your administrator to add you to a group that console.oidc.roles.map names.',
  );
}
