/**
 * `POST /hooks/git`: a Git host's push webhook wakes the controller at once instead of at its next poll. GitHub's
 * delivery is verified as GitHub documents it (https://docs.github.com/webhooks/securing, "Validating webhook
 * deliveries"): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook's secret>`,
 * compared in constant time over the exact bytes received. Anything unsigned or signed with another secret is 401
 * and wakes nothing. GitHub caps payloads at 25 MB ("About webhook events and payloads", Payload cap), so a body
 * beyond that is no delivery of GitHub's: 413, read no further.
 *
 * The delivery is only a hint: the controller fetches the branch itself and trusts nothing in the body, so a
 * replayed delivery costs one fetch. `X-GitHub-Event: ping` (sent when the webhook is created) is answered 200.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

export const GIT_HOOK_PATH = '/hooks/git';

/** GitHub's payload cap. */
const MAX_BODY = 25 * 1024 * 1024;

/** The X-Hub-Signature-256 value GitHub sends for `body` (for tests and for a sender of one's own). */
export function signGitHook(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the signature of `body` under `secret`, compared in constant time. */
export function verifyGitHook(secret: string, body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const want = Buffer.from(signGitHook(secret, body));
  const got = Buffer.from(header);
  return got.length === want.length && timingSafeEqual(got, want);
}

export interface GitHookTarget {
  /** The secret (resolved from its reference by the caller); undefined: the endpoint is off (404). */
  secret: string | undefined;
  /** Sync now; resolves once the round is started (not finished). */
  wake(): void;
  /** The environments that watch a branch, for the answer. */
  watching(branch: string): Promise<string[]>;
  log?: (line: string) => void;
}

/**
 * Answer `req` when it is for /hooks/git: true when it was (answered here), false to let the server route it.
 * For a server that routes its own paths too (the worker's).
 */
export async function handleGitHook(
  t: GitHookTarget,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pathname: string,
): Promise<boolean> {
  if (pathname !== GIT_HOOK_PATH && pathname !== `${GIT_HOOK_PATH}/`) return false;
  const send = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'POST') {
    send(405, { error: 'use POST' }, { allow: 'POST', connection: 'close' });
    return true;
  }
  if (t.secret === undefined) {
    send(404, { error: 'the push webhook is off: start the controller with --webhook-secret-env NAME' });
    return true;
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY) {
    res.on('finish', () => req.destroy());
    send(413, { error: 'the body is larger than 25 MB (GitHub caps payloads there)' }, { connection: 'close' });
    return true;
  }
  const body = await readBody(req);
  if (body === undefined) {
    res.on('finish', () => req.destroy());
    send(413, { error: 'the body is larger than 25 MB (GitHub caps payloads there)' }, { connection: 'close' });
    return true;
  }
  if (!verifyGitHook(t.secret, body, req.headers['x-hub-signature-256'])) {
    t.log?.('controller: refused a push webhook with a missing or wrong X-Hub-Signature-256');
    send(401, { error: 'the X-Hub-Signature-256 signature is missing or does not match the webhook secret' });
    return true;
  }
  const event = String(req.headers['x-github-event'] ?? 'push');
  if (event === 'ping') {
    send(200, { pong: true });
    return true;
  }
  let ref: string | undefined;
  try {
    const text = body.toString('utf8');
    // A webhook of content type application/x-www-form-urlencoded sends the JSON as the `payload` field.
    const json = text.startsWith('payload=') ? (new URLSearchParams(text).get('payload') ?? '') : text;
    const v = JSON.parse(json) as { ref?: unknown };
    if (typeof v.ref === 'string') ref = v.ref;
  } catch {
    /* a verified body we cannot read still wakes the controller: it fetches for itself */
  }
  t.wake();
  const envs = ref?.startsWith('refs/heads/') ? await t.watching(ref) : undefined;
  send(202, { accepted: true, event, ...(ref ? { ref } : {}), ...(envs ? { environments: envs } : {}) });
  return true;
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.pause();
        resolve(undefined);
      } else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** The controller's own server (`rsync controller --port`): POST /hooks/git and GET /healthz. */
export async function serveGitHook(
  t: GitHookTarget,
  port: number,
  host: string,
): Promise<{ server: http.Server; port: number | null }> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok' }));
      return;
    }
    handleGitHook(t, req, res, pathname)
      .then((handled) => {
        if (handled) return;
        res.writeHead(404, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: 'not found: the endpoints are POST /hooks/git and GET /healthz' }));
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'the request failed; retry' }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : null };
}
