/**
 * A fake of GitHub's REST API for issue comments on 127.0.0.1, as GitHub documents it:
 *
 * - Auth: `Authorization: token <t>` or `Bearer <t>`; anything else is 401 `{"message":"Bad credentials"}`
 *   (https://docs.github.com/rest/authentication/authenticating-to-the-rest-api).
 * - Issue comments (https://docs.github.com/rest/issues/comments): GET /repos/{owner}/{repo}/issues/{n}/comments,
 *   ordered by ascending id, `per_page` at most 100 (default 30) and `page`, with a Link header (rel="next", "last")
 *   (https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api); POST there creates one
 *   (201), PATCH /repos/{owner}/{repo}/issues/comments/{id} edits one (200). A body over 65,536 characters is 422
 *   "Validation Failed" with the error "body is too long (maximum is 65536 characters)"; an unknown repository,
 *   pull request or comment is 404 `{"message":"Not Found"}`.
 * - Rate limits (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api): every answer has
 *   x-ratelimit-limit, -remaining, -used, -reset (epoch seconds) and -resource; `exhaust()` makes the next request a
 *   primary-limit 403 (remaining 0, reset a second ahead), `secondary()` a 429 with retry-after: 1.
 *
 * Started by the tests that need it (test/cli/pr-comment.test.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string };
  created_at: string;
  updated_at: string;
  html_url: string;
}

export interface FakeGitHub {
  url: string;
  token: string;
  /** Comments by `${owner}/${repo}#${n}`. */
  comments(pr: string): FakeComment[];
  /** Every request, as `METHOD path?query` and its status. */
  requests: { line: string; status: number }[];
  /** Answer the next request with a primary rate limit 403 (x-ratelimit-remaining 0). */
  exhaust(): void;
  /** Answer the next request with a secondary rate limit 429 (retry-after: 1). */
  secondary(): void;
  close(): Promise<void>;
}

const LIMIT = 65_536;

export async function startFakeGitHub(opts: { repos: string[]; pulls: number[]; seed?: number }): Promise<FakeGitHub> {
  const token = `ghs_fake${Math.random().toString(36).slice(2)}`;
  const byPr = new Map<string, FakeComment[]>();
  for (const repo of opts.repos) for (const n of opts.pulls) byPr.set(`${repo}#${n}`, []);
  let nextId = 1000;
  let url = '';
  let remaining = 5000;
  let next: 'primary' | 'secondary' | undefined;
  const requests: FakeGitHub['requests'] = [];
  const make = (key: string, body: string, login: string): FakeComment => {
    const at = new Date().toISOString();
    const id = nextId++;
    const [repo, n] = key.split('#');
    return {
      id,
      body,
      user: { login },
      created_at: at,
      updated_at: at,
      html_url: `https://github.com/${repo}/pull/${n}#issuecomment-${id}`,
    };
  };
  // Other people's comments, so that the one rsync looks for is past the first page.
  for (const key of byPr.keys())
    for (let i = 0; i < (opts.seed ?? 0); i++) byPr.get(key)!.push(make(key, `LGTM ${i}`, 'a-reviewer'));

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        requests.push({ line: `${req.method} ${u.pathname}${u.search}`, status });
        remaining = Math.max(0, remaining - 1);
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': String(remaining),
          'x-ratelimit-used': String(5000 - remaining),
          'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
          'x-ratelimit-resource': 'core',
          ...headers,
        });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const auth = req.headers.authorization ?? '';
      if (auth !== `token ${token}` && auth !== `Bearer ${token}`)
        return send(401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
      if (next === 'primary') {
        next = undefined;
        requests.push({ line: `${req.method} ${u.pathname}${u.search}`, status: 403 });
        res.writeHead(403, {
          'content-type': 'application/json; charset=utf-8',
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1),
          'x-ratelimit-resource': 'core',
        });
        return res.end(
          JSON.stringify({
            message: 'API rate limit exceeded for installation ID 1.',
            documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
          }),
        );
      }
      if (next === 'secondary') {
        next = undefined;
        return send(
          429,
          { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
          { 'retry-after': '1' },
        );
      }
      let m = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(u.pathname);
      if (m) {
        const key = `${m[1]}#${m[2]}`;
        const list = byPr.get(key);
        if (!list) return send(404, { message: 'Not Found' });
        if (req.method === 'GET') {
          const per = Math.min(100, Math.max(1, Number(u.searchParams.get('per_page') ?? 30)));
          const page = Math.max(1, Number(u.searchParams.get('page') ?? 1));
          const last = Math.max(1, Math.ceil(list.length / per));
          const link = (p: number, rel: string) => `<${url}${u.pathname}?per_page=${per}&page=${p}>; rel="${rel}"`;
          const links = page < last ? [link(page + 1, 'next'), link(last, 'last')] : [];
          return send(200, list.slice((page - 1) * per, page * per), links.length ? { link: links.join(', ') } : {});
        }
        if (req.method === 'POST') {
          const body = parse(chunks);
          if (typeof body?.body !== 'string')
            return send(422, { message: 'Invalid request.\n\n"body" wasn\'t supplied.' });
          if (body.body.length > LIMIT) return send(422, tooLong());
          const c = make(key, body.body, 'github-actions[bot]');
          list.push(c);
          return send(201, c);
        }
      }
      m = /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(u.pathname);
      if (m && req.method === 'PATCH') {
        const c = [...byPr.entries()]
          .filter(([k]) => k.startsWith(`${m![1]}#`))
          .flatMap(([, l]) => l)
          .find((x) => x.id === Number(m![2]));
        if (!c) return send(404, { message: 'Not Found' });
        const body = parse(chunks);
        if (typeof body?.body !== 'string') return send(422, { message: 'Invalid request.' });
        if (body.body.length > LIMIT) return send(422, tooLong());
        c.body = body.body;
        c.updated_at = new Date().toISOString();
        return send(200, c);
      }
      send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    token,
    comments: (pr) => byPr.get(pr) ?? [],
    requests,
    exhaust: () => {
      next = 'primary';
    },
    secondary: () => {
      next = 'secondary';
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function parse(chunks: Buffer[]): { body?: unknown } | undefined {
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

const tooLong = () => ({
  message: 'Validation Failed',
  errors: [
    {
      resource: 'IssueComment',
      code: 'custom',
      field: 'body',
      message: 'body is too long (maximum is 65536 characters)',
    },
  ],
  documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
});
