/**
 * OpenID Connect sign-in (engine/auth/oidc.ts, issue 17) against a real OpenID provider (oidc-provider) on
 * 127.0.0.1, the browser's part played by fetch following the provider's redirects: a mapped group becomes the role
 * (the strongest of several), a customer group a customer viewer, an unmapped person is refused, and so is a
 * callback whose state was tampered with, a tampered state cookie, or one from another sign-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  finishSignIn,
  type Oidc,
  type OidcSettings,
  openOidc,
  startSignIn,
  stateCookieHeader,
} from '../../engine/auth/oidc.js';
import { followToCallback, startProvider, type TestProvider } from '../helpers/oidc-provider.js';

const SECRET_ENV = 'RSYNC_TEST_OIDC_CLIENT_SECRET';

describe('OpenID Connect sign-in', { timeout: 30_000 }, () => {
  let idp: TestProvider;
  let oidc: Oidc;
  let settings: OidcSettings;

  beforeAll(async () => {
    idp = await startProvider({
      carol: { groups: ['support', 'rsync-admins'] },
      sam: { groups: ['support', 'marketing'] },
      nina: { groups: ['northwind-it'] },
      olga: { groups: ['northwind-it', 'contoso-it'] },
      eve: { groups: ['marketing'] },
    });
    process.env[SECRET_ENV] = idp.clientSecret;
    settings = {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: { secretRef: `env:${SECRET_ENV}` },
      redirectUrl: idp.redirectUrl,
      scopes: ['email', 'profile', 'groups'],
      roles: { claim: 'groups', map: { 'rsync-admins': 'admin', support: 'operator', auditors: 'viewer' } },
      customers: { claim: 'groups', map: { 'northwind-it': 'northwind', 'contoso-it': 'contoso' } },
    };
    oidc = await openOidc(settings);
  });

  afterAll(async () => {
    delete process.env[SECRET_ENV];
    await idp?.close();
  });

  /** One sign-in of `user` up to the callback: what the console's callback route receives. */
  async function signIn(user: string) {
    idp.user = user;
    const { redirectUrl, stateCookie } = await startSignIn(oidc);
    return { callback: await followToCallback(redirectUrl, idp.redirectUrl), stateCookie, redirectUrl };
  }

  it('asks for a code with PKCE (S256), state and nonce; the state cookie hides what it carries', async () => {
    const { redirectUrl, stateCookie } = await startSignIn(oidc);
    const q = new URL(redirectUrl).searchParams;
    expect(redirectUrl.startsWith(`${idp.issuer}/`)).toBe(true);
    expect(
      Object.fromEntries(
        ['response_type', 'client_id', 'redirect_uri', 'code_challenge_method'].map((k) => [k, q.get(k)]),
      ),
    ).toEqual({
      response_type: 'code',
      client_id: idp.clientId,
      redirect_uri: idp.redirectUrl,
      code_challenge_method: 'S256',
    });
    expect(q.get('scope')!.split(' ').sort()).toEqual(['email', 'groups', 'openid', 'profile']);
    for (const k of ['state', 'nonce', 'code_challenge']) expect(q.get(k)).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    // Neither the state nor the nonce can be read from the cookie (it is sealed), nor the client secret.
    const decoded = Buffer.from(stateCookie, 'base64url').toString('latin1');
    expect(decoded).not.toContain(q.get('state')!);
    expect(decoded).not.toContain(q.get('nonce')!);
    expect(stateCookie).not.toContain(idp.clientSecret);
    expect(stateCookieHeader(oidc, stateCookie)).toMatch(
      /^rsync_oidc=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/,
    );
  });

  it('a mapped group becomes the role (the strongest wins), a customer group a customer viewer', async () => {
    const carol = await signIn('carol');
    expect(await finishSignIn(oidc, carol.callback, carol.stateCookie)).toEqual({
      name: 'carol@acme.example',
      role: 'admin',
      customer: null,
      subject: 'carol',
      issuer: idp.issuer,
    });
    const sam = await signIn('sam');
    expect(await finishSignIn(oidc, sam.callback, sam.stateCookie)).toMatchObject({
      name: 'sam@acme.example',
      role: 'operator',
      customer: null,
    });
    const nina = await signIn('nina');
    expect(await finishSignIn(oidc, nina.callback, nina.stateCookie)).toMatchObject({
      role: 'customer-viewer',
      customer: 'northwind',
    });
  });

  it('an unmapped person is refused, and so is one in two customers', async () => {
    const eve = await signIn('eve');
    await expect(finishSignIn(oidc, eve.callback, eve.stateCookie)).rejects.toMatchObject({
      reason: 'no-role',
      exitCode: 75,
      message: 'eve@acme.example has no role in this console: none of their groups is mapped to one.',
    });
    const olga = await signIn('olga');
    await expect(finishSignIn(oidc, olga.callback, olga.stateCookie)).rejects.toMatchObject({
      reason: 'two-customers',
    });
  });

  it('a tampered state, a tampered cookie, another sign-in’s cookie or a replayed code is refused', async () => {
    const a = await signIn('carol');
    const forged = new URL(a.callback);
    forged.searchParams.set('state', `${forged.searchParams.get('state')}x`);
    await expect(finishSignIn(oidc, forged, a.stateCookie)).rejects.toMatchObject({ reason: 'state' });
    const raw = Buffer.from(a.stateCookie, 'base64url');
    raw[raw.length - 1] ^= 1;
    await expect(finishSignIn(oidc, a.callback, raw.toString('base64url'))).rejects.toMatchObject({ reason: 'state' });
    await expect(finishSignIn(oidc, a.callback, undefined)).rejects.toMatchObject({ reason: 'state' });
    const b = await signIn('carol');
    await expect(finishSignIn(oidc, a.callback, b.stateCookie)).rejects.toMatchObject({ reason: 'state' });
    // The genuine pair still signs in once; its code cannot be used again.
    expect(await finishSignIn(oidc, a.callback, a.stateCookie)).toMatchObject({ role: 'admin' });
    await expect(finishSignIn(oidc, a.callback, a.stateCookie)).rejects.toMatchObject({
      reason: 'provider',
      message: expect.stringContaining('invalid_grant'),
    });
  });

  it('refuses an http:// issuer that is not on a loopback address, and names an unreachable provider (69)', async () => {
    await expect(openOidc({ ...settings, issuer: 'http://login.acme.example' })).rejects.toMatchObject({
      exitCode: 64,
      message: expect.stringContaining('must be an https:// URL'),
    });
    await expect(openOidc({ ...settings, issuer: 'http://127.0.0.1:9/' })).rejects.toMatchObject({ exitCode: 69 });
  });
});
