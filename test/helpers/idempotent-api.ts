/**
 * An HTTP API that honours Idempotency-Key, for the exactly-once tests of the http target: POST /api/stock/<key>,
 * each accepted request one effect (a stock adjustment posted), counted per key.
 *
 * It follows the Idempotency-Key draft (draft-ietf-httpapi-idempotency-key-header-07, §2 and §2.7:
 * a repeated request with the same key and payload gets the first response and changes nothing; the same key with
 * another payload is refused with 422) as Stripe's API does ("Idempotent requests": keys kept at least 24 hours,
 * "the same result, including 500 errors" for a repeat; a different payload is an idempotency_error). It requires
 * the bearer token, as the real ones do.
 *
 * `drop(key)` makes a fault: when it returns true for a request, the fake applies the request (the effect is
 * counted and its answer kept for the key) and then drops the connection without answering — the write the target
 * accepted and the client never heard of, which the client must retry with the same key.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';

export const TOKEN = 'idem-test-token-7f3a';

/** The stock API: POST /api/stock/<key>, each accepted request one effect (a stock adjustment posted). */
export function idempotentApi(token = TOKEN, drop: (key: string) => boolean = () => false) {
  const effects = new Map<string, number>();
  const seen = new Map<string, { body: string; status: number; reply: string }>();
  let repeats = 0;
  let dropped = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const reply = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'unauthorized' });
      const m = /^\/api\/stock\/([^/]+)$/.exec(req.url ?? '');
      if (!m || req.method !== 'POST') return reply(404, { error: 'not found' });
      const idem = req.headers['idempotency-key'];
      if (typeof idem !== 'string' || !idem) return reply(400, { error: 'Idempotency-Key is required' });
      const fingerprint = createHash('sha256').update(`${req.url}\n${body}`).digest('hex');
      const first = seen.get(idem);
      if (first) {
        if (first.body !== fingerprint) return reply(422, { error: 'Idempotency-Key reused with another payload' });
        repeats++;
        return res.writeHead(first.status, { 'content-type': 'application/json' }).end(first.reply);
      }
      const key = decodeURIComponent(m[1]);
      effects.set(key, (effects.get(key) ?? 0) + 1);
      const answer = JSON.stringify({ id: `ADJ-${key}-${effects.get(key)}` });
      seen.set(idem, { body: fingerprint, status: 201, reply: answer });
      if (drop(key)) {
        dropped++;
        return req.socket.destroy(); // applied, never answered
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end(answer);
    });
  });
  return { server, effects, repeats: () => repeats, dropped: () => dropped };
}
