/**
 * A fake AWS Secrets Manager on 127.0.0.1: GetSecretValue as AWS documents it, so that the aws backend's tests run
 * AWS's own client (@aws-sdk/client-secrets-manager) over real HTTP against something that refuses what AWS refuses.
 *
 *   const fake = await startFakeAwsSecrets({ region: 'us-east-1', accessKeyId, secretAccessKey });
 *   fake.put('prod/db', '{"password":"…"}')   fake.rotate('prod/db', '…')   fake.deny('prod/db')   fake.throttle(2)
 *   fake.url   fake.requests   fake.refused   fake.close()
 *
 * What it does, and where AWS says so:
 * - The JSON 1.1 protocol: `POST /`, `Content-Type: application/x-amz-json-1.1`, the operation in
 *   `X-Amz-Target: secretsmanager.GetSecretValue`, a JSON body; errors are the HTTP status and a JSON body
 *   `{ "__type": "<ErrorName>", "message": "…" }` (also named in the `x-amzn-ErrorType` header), which the SDK turns
 *   into its exception classes — https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html and
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html. An unknown target is 400
 *   InvalidAction ("The action or operation requested is invalid").
 * - Signature Version 4, verified by recomputing it (an own implementation of the documented algorithm, not the
 *   SDK's signer): the canonical request (method, URI, sorted query, the SignedHeaders' lower-cased names and trimmed
 *   values, the hex SHA-256 of the body), the string to sign (`AWS4-HMAC-SHA256`, X-Amz-Date, the credential scope
 *   `date/region/secretsmanager/aws4_request`, the canonical request's hash) and the signing key (HMAC-SHA256 chain
 *   from `"AWS4" + secret`) — https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html. No
 *   Authorization header is 400 MissingAuthenticationTokenException; an unknown access key id 400
 *   UnrecognizedClientException ("The security token included in the request is invalid."); a wrong signature 400
 *   InvalidSignatureException ("The request signature we calculated does not match the signature you provided…");
 *   a scope for another region or service, or one missing host or x-amz-date from SignedHeaders, 400
 *   IncompleteSignatureException; an X-Amz-Date more than 15 minutes off 400 InvalidSignatureException "Signature
 *   expired" (RequestExpired in CommonErrors: "more than 15 minutes after the date stamp"). Those names are the ones
 *   the JSON services answer with (the SDK maps each to the exception of that name).
 * - GetSecretValue `{ SecretId, VersionId?, VersionStage? }` → `{ ARN, Name, VersionId, SecretString,
 *   VersionStages, CreatedDate }`, AWSCURRENT when neither is given; SecretId is the name or the ARN (the ARN ends in
 *   `-` and six random characters) — https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html.
 *   An unknown secret or version is 400 ResourceNotFoundException ("Secrets Manager can't find the specified
 *   secret." / "…secret value for staging label: X"), a denied one 400 AccessDeniedException (CommonErrors: "You do
 *   not have sufficient access to perform this action", HTTP 400).
 * - Rotation as PutSecretValue does it: the new version gets AWSCURRENT, the one that had it AWSPREVIOUS
 *   (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
 * - Throttling: ThrottlingException, HTTP 400 as CommonErrors lists it ("The request was denied due to request
 *   throttling"), here with a Retry-After header too; the SDK retries it with back-off
 *   (https://docs.aws.amazon.com/secretsmanager/latest/userguide/throttling.html).
 * Production code (a demo may start it): no test framework here.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAwsSecretsOptions {
  region?: string;
  accountId?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The clock in milliseconds (tests move it to expire a signature). */
  now?: () => number;
}

interface Version {
  id: string;
  /** SecretString, or SecretBinary's bytes. */
  value: string | Buffer;
  stages: Set<string>;
  created: number;
}

interface Secret {
  name: string;
  arn: string;
  versions: Version[];
  denied: boolean;
}

export interface FakeAwsSecrets {
  readonly url: string;
  readonly region: string;
  /** GetSecretValue calls answered, and those refused (any error). */
  readonly requests: number;
  readonly refused: number;
  /** Create (or replace) a secret with one version, staged AWSCURRENT (bytes: a SecretBinary); returns its ARN. */
  put(name: string, value: string | Buffer): string;
  /** A new version of the secret, staged AWSCURRENT; the one that was current becomes AWSPREVIOUS. */
  rotate(name: string, value: string): string;
  /** The worker's identity may no longer read the secret (AccessDeniedException). */
  deny(name: string): void;
  /** The next `n` calls are throttled, with Retry-After `seconds`. */
  throttle(n: number, seconds?: number): void;
  close(): Promise<void>;
}

const JSON_11 = 'application/x-amz-json-1.1';
const SERVICE = 'secretsmanager';
const SKEW_MS = 15 * 60_000;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** An RFC 3986 encoding of one query component, as SigV4 asks (unreserved characters kept). */
const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The SigV4 signature of a request, from its parts; see the header. */
export function sigV4(o: {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  body: Buffer;
  amzDate: string;
  scope: string;
  secretAccessKey: string;
}): string {
  const u = new URL(o.url, 'http://x');
  const query = [...u.searchParams]
    .map(([k, v]) => [encode(k), encode(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = o.signedHeaders
    .map((h) => {
      const v = o.headers[h];
      const value = (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
      return `${h}:${value}\n`;
    })
    .join('');
  const canonical = [
    o.method,
    u.pathname || '/',
    query,
    canonicalHeaders,
    o.signedHeaders.join(';'),
    sha256(o.body),
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', o.amzDate, o.scope, sha256(canonical)].join('\n');
  const [date, region, service] = o.scope.split('/');
  const key = hmac(hmac(hmac(hmac(`AWS4${o.secretAccessKey}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

class AwsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** X-Amz-Date (`20261203T150000Z`) in milliseconds, or NaN. */
const amzTime = (s: string) =>
  /^\d{8}T\d{6}Z$/.test(s)
    ? Date.parse(
        `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
      )
    : Number.NaN;

export async function startFakeAwsSecrets(o: FakeAwsSecretsOptions): Promise<FakeAwsSecrets> {
  const region = o.region ?? 'us-east-1';
  const accountId = o.accountId ?? '123456789012';
  const now = o.now ?? Date.now;
  const secrets = new Map<string, Secret>();
  let requests = 0;
  let refused = 0;
  let throttled = 0;
  let throttleSeconds = 1;

  const find = (id: string): Secret | undefined => secrets.get(id) ?? [...secrets.values()].find((s) => s.arn === id);

  function verify(req: IncomingMessage, body: Buffer): void {
    const auth = req.headers.authorization;
    if (!auth) throw new AwsFault('MissingAuthenticationTokenException', 'Missing Authentication Token');
    const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
    if (!m)
      throw new AwsFault('IncompleteSignatureException', 'The request signature does not conform to AWS standards.');
    const [, credential, signed, signature] = m;
    const [keyId, ...scopeParts] = credential.split('/');
    const scope = scopeParts.join('/');
    if (keyId !== o.accessKeyId)
      throw new AwsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const signedHeaders = signed.split(';');
    const [date, scopeRegion, service, terminator] = scopeParts;
    if (
      scopeParts.length !== 4 ||
      terminator !== 'aws4_request' ||
      service !== SERVICE ||
      scopeRegion !== region ||
      date !== amzDate.slice(0, 8) ||
      !signedHeaders.includes('host') ||
      !signedHeaders.includes('x-amz-date')
    )
      throw new AwsFault(
        'IncompleteSignatureException',
        `Credential should be scoped to a valid region, date and service (${region}, ${SERVICE}), and sign host and x-amz-date.`,
      );
    const at = amzTime(amzDate);
    if (!Number.isFinite(at) || Math.abs(now() - at) > SKEW_MS)
      throw new AwsFault('InvalidSignatureException', 'Signature expired: the X-Amz-Date is more than 15 minutes off.');
    const expected = sigV4({
      method: req.method ?? 'POST',
      url: req.url ?? '/',
      headers: req.headers,
      signedHeaders,
      body,
      amzDate,
      scope,
      secretAccessKey: o.secretAccessKey,
    });
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature)))
      throw new AwsFault(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
  }

  function getSecretValue(input: Record<string, unknown>): Record<string, unknown> {
    const id = input.SecretId;
    if (typeof id !== 'string' || id === '')
      throw new AwsFault(
        'InvalidParameterException',
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    const s = find(id);
    if (!s) throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    if (s.denied)
      throw new AwsFault(
        'AccessDeniedException',
        `User: arn:aws:iam::${accountId}:user/rsync is not authorized to perform: secretsmanager:GetSecretValue on resource: ${s.name} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
      );
    const stage = typeof input.VersionStage === 'string' ? input.VersionStage : undefined;
    const versionId = typeof input.VersionId === 'string' ? input.VersionId : undefined;
    const v = versionId
      ? s.versions.find((x) => x.id === versionId)
      : s.versions.find((x) => x.stages.has(stage ?? 'AWSCURRENT'));
    if (!v || (versionId && stage && !v.stages.has(stage)))
      throw new AwsFault(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for ${versionId ? `VersionId: ${versionId}` : `staging label: ${stage ?? 'AWSCURRENT'}`}`,
      );
    return {
      ARN: s.arn,
      Name: s.name,
      VersionId: v.id,
      ...(typeof v.value === 'string' ? { SecretString: v.value } : { SecretBinary: v.value.toString('base64') }),
      VersionStages: [...v.stages],
      CreatedDate: v.created / 1000,
    };
  }

  function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': JSON_11,
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    try {
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/')
        throw new AwsFault(
          'InvalidAction',
          'The action or operation requested is invalid. Verify that the action is typed correctly.',
        );
      verify(req, body);
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue')
        throw new AwsFault(
          'InvalidAction',
          'The action or operation requested is invalid. Verify that the action is typed correctly.',
        );
      if (!String(req.headers['content-type'] ?? '').startsWith(JSON_11))
        throw new AwsFault('SerializationException', `Expected Content-Type ${JSON_11}`);
      if (throttled > 0) {
        throttled--;
        throw new AwsFault('ThrottlingException', 'Rate exceeded', 400, throttleSeconds);
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new AwsFault('SerializationException', 'The request body is not JSON.');
      }
      const out = getSecretValue(input);
      requests++;
      reply(res, 200, out);
    } catch (e) {
      refused++;
      const f =
        e instanceof AwsFault ? e : new AwsFault('InternalServiceError', 'An error occurred on the server side.', 500);
      reply(
        res,
        f.status,
        { __type: f.type, message: f.message },
        { 'x-amzn-errortype': f.type, ...(f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {}) },
      );
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const newVersion = (value: string | Buffer): Version => ({
    id: randomUUID(),
    value,
    stages: new Set(['AWSCURRENT']),
    created: now(),
  });

  return {
    url: `http://127.0.0.1:${port}`,
    region,
    get requests() {
      return requests;
    },
    get refused() {
      return refused;
    },
    put(name, value) {
      const suffix = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
      const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
      secrets.set(name, { name, arn, versions: [newVersion(value)], denied: false });
      return arn;
    },
    rotate(name, value) {
      const s = secrets.get(name);
      if (!s) throw new Error(`no secret ${name} in the fake`);
      for (const v of s.versions) {
        v.stages.delete('AWSPREVIOUS');
        if (v.stages.delete('AWSCURRENT')) v.stages.add('AWSPREVIOUS');
      }
      const v = newVersion(value);
      s.versions.push(v);
      return v.id;
    },
    deny(name) {
      const s = secrets.get(name);
      if (!s) throw new Error(`no secret ${name} in the fake`);
      s.denied = true;
    },
    throttle(n, seconds = 1) {
      throttled = n;
      throttleSeconds = seconds;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The aws backend's settings that reach this fake (the credentials are the environment's: its accessKeyId and key). */
export const fakeAwsSettings = (fake: FakeAwsSecrets): Record<string, unknown> => ({
  region: fake.region,
  endpoint: fake.url,
});
