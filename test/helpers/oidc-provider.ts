/**
 * A real OpenID provider for the sign-in tests: oidc-provider (panva's, certified), on 127.0.0.1 with a free port, one
 * confidential client (client_secret_basic, PKCE required), and an interaction that signs in `provider.user` at once
 * (no login form: the test chooses who signs in). Its accounts' claims: sub, email, preferred_username, groups; with
 * conformIdTokenClaims (its default), scope claims are not in the ID token, so the relying party must read them
 * from userinfo, as with many real providers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
  /** Who the next sign-in is. */
  user: string;
  close(): Promise<void>;
}

export async function startProvider(
  accounts: Record<string, { groups: string[] }>,
  /** The client's registered callback (default: one never fetched, for tests that stop at the redirect to it). */
  redirectUrl = 'http://127.0.0.1:9/auth/callback',
): Promise<TestProvider> {
  let handler: http.RequestListener = (_req, res) => res.end();
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t: TestProvider = {
    issuer,
    clientId: 'rsync-console',
    clientSecret: 'a-client-secret-for-the-test-only-0123456789',
    redirectUrl,
    user: '',
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: t.clientId,
        client_secret: t.clientSecret,
        redirect_uris: [t.redirectUrl],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email'], profile: ['preferred_username'], groups: ['groups'] },
    findAccount: async (_ctx: unknown, sub: string) =>
      accounts[sub]
        ? {
            accountId: sub,
            claims: async () => ({
              sub,
              email: `${sub}@acme.example`,
              preferred_username: sub,
              groups: accounts[sub].groups,
            }),
          }
        : undefined,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    cookies: { keys: ['the test provider cookie key'] },
    ttl: { Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    // Every scope asked for is granted: no consent screen.
    // biome-ignore lint/suspicious/noExplicitAny: oidc-provider's context is untyped here
    loadExistingGrant: async (ctx: any) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  handler = async (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      try {
        await provider.interactionDetails(req, res);
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: t.user } },
          { mergeWithLastSubmission: false },
        );
      } catch (e) {
        res.statusCode = 500;
        res.end(String(e));
      }
      return;
    }
    callback(req, res);
  };
  return t;
}

/**
 * A browser's part: follow the provider's redirects from `authorizationUrl` (keeping its cookies) until it sends the
 * browser to `redirectUrl`; that URL, with the code and state, is what the console's callback receives.
 */
export async function followToCallback(authorizationUrl: string, redirectUrl: string): Promise<string> {
  const jar = new Map<string, string>();
  let next = authorizationUrl;
  for (let hops = 0; hops < 12; hops++) {
    if (next.startsWith(redirectUrl)) return next;
    const res = await fetch(next, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0];
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = res.headers.get('location');
    if (!location)
      throw new Error(`the provider answered ${next} with ${res.status} and no redirect: ${await res.text()}`);
    next = new URL(location, next).href;
  }
  throw new Error('too many redirects');
}
