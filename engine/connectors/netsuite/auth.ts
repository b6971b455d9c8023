/**
 * NetSuite's two ways to authenticate a REST web services call, as the connector signs them:
 *
 * - Token-based authentication (TBA): OAuth 1.0a with HMAC-SHA256 (NetSuite refuses HMAC-SHA1 for new
 *   integrations), every request signed over its method, URL and query (RFC 5849 §3.4.1; a JSON body is not a
 *   form, so it is not part of the base string), `realm` the account id as NetSuite spells it (1234567_SB1). The
 *   signature base string and the percent-encoding are the `oauth-1.0a` library's, not ours: the fake NetSuite
 *   verifies them with an implementation of its own, so a mistake in either shows as a 401.
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1534941295.html (The Authorization Headers)
 * - OAuth 2.0 client credentials (machine to machine): a JWT assertion signed with the private key of the
 *   certificate mapped to the integration (header typ JWT, alg PS256/PS384/PS512/ES256/ES384/ES512, kid the
 *   certificate id; payload iss the client id, scope, aud the token endpoint, iat, exp under 60 minutes after iat),
 *   posted as a form to /services/rest/auth/oauth2/v1/token for a bearer access token valid 60 minutes. The JWT is
 *   `jose`'s.
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html (The Request Token Structure)
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html (POST Request to the Token
 *   Endpoint and the Access Token Response)
 *
 * Secrets are resolved per request through ctx.secret (a rotated one is picked up) and never leave this module but
 * in the Authorization header.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import OAuth from 'oauth-1.0a';

/** The REST web services host of an account: 1234567_SB1 → 1234567-sb1.suitetalk.api.netsuite.com. */
export function accountHost(accountId: string): string {
  return `${accountId.toLowerCase().replace(/_/g, '-')}.suitetalk.api.netsuite.com`;
}

/** The realm of an account's TBA signatures: its id with NetSuite's own spelling (1234567_SB1, upper case). */
export const realmOf = (accountId: string): string => accountId.toUpperCase();

export interface TbaCredentials {
  consumerKey: string;
  consumerSecret: string;
  tokenId: string;
  tokenSecret: string;
}

/** The Authorization header of one TBA request (a fresh nonce and timestamp each time). */
export function tbaHeader(realm: string, c: TbaCredentials, method: string, url: string): string {
  const oauth = new OAuth({
    consumer: { key: c.consumerKey, secret: c.consumerSecret },
    signature_method: 'HMAC-SHA256',
    hash_function: (base, key) => createHmac('sha256', key).update(base).digest('base64'),
    realm,
  });
  // The library's nonce comes from Math.random; a replayed nonce is refused by NetSuite, so take it from the CSPRNG.
  oauth.getNonce = () => randomBytes(16).toString('hex');
  return oauth.toHeader(oauth.authorize({ url, method }, { key: c.tokenId, secret: c.tokenSecret })).Authorization;
}

export const JWT_ALGORITHMS = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface M2mCredentials {
  clientId: string;
  certificateId: string;
  /** PEM, PKCS#8 ("BEGIN PRIVATE KEY"). */
  privateKey: string;
  algorithm: JwtAlgorithm;
  scope: string[];
}

/** The client assertion of one token request. */
export async function clientAssertion(c: M2mCredentials, tokenUrl: string, now = Date.now()): Promise<string> {
  const key = await importPKCS8(c.privateKey, c.algorithm);
  const iat = Math.floor(now / 1000);
  return (
    new SignJWT({ scope: c.scope })
      .setProtectedHeader({ typ: 'JWT', alg: c.algorithm, kid: c.certificateId })
      .setIssuer(c.clientId)
      .setAudience(tokenUrl)
      .setIssuedAt(iat)
      // Well under the 60 minutes NetSuite allows: an assertion is used once, at once.
      .setExpirationTime(iat + 300)
      .sign(key)
  );
}

/** The form body of a client credentials token request. */
export const tokenRequestBody = (assertion: string): string =>
  new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  }).toString();
