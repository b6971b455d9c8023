/**
 * `rsync pr comment`: the plan (where a database is reachable) and the diff of a pull request as one Markdown
 * comment on it, created once and edited on every later push, the way Atlantis keeps one comment per pull request.
 *
 * The comment is found again by its marker, an HTML comment naming the environment (`<!-- rsync:pr-comment env=… -->`),
 * so two environments planned on one pull request keep a comment each. Its body stays within GitHub's limit on a
 * comment (65,536 characters: a longer body is refused with 422 "body is too long"): the plan and the diff each get
 * a share, fold their changes per customer (`<details>`), and say what they left out; a body that would still be too
 * long is cut with a note, never refused. Talks to GitHub's REST API through Octokit (@octokit/rest), the token by
 * reference (an environment variable's name, GITHUB_TOKEN by default), and waits out GitHub's rate limits as its
 * docs say: after x-ratelimit-reset when x-ratelimit-remaining is 0, after retry-after when given, else a minute
 * (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api).
 */
import { Octokit } from '@octokit/rest';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { COMMENT_LIMIT } from '../plan/markdown.js';

/** Where the comment goes. */
export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
}

/** The parts of the comment, rendered by the caller (plan/render.ts, diff/render.ts) within their share. */
export interface CommentParts {
  env: string;
  /** The plan's Markdown, or why there is none (no database, the workspace has errors). */
  plan: { markdown: string } | { missing: string };
  /** The diff's Markdown (base → head). */
  diff?: { markdown: string; summary: string };
  /** The commit the comment is for. */
  commit?: string;
  /** The product's name, for the footer. */
  product: string;
}

/** The shares of the comment's 65,536 characters: the plan's and the diff's (what is left is the frame's). */
export const PLAN_SHARE = 40_000;
export const DIFF_SHARE = 22_000;

export const markerOf = (env: string) => `<!-- rsync:pr-comment env=${env} -->`;

/** The comment's body: marker, plan, the diff folded under it, and a footer; never over `limit` characters. */
export function commentBody(p: CommentParts, limit = COMMENT_LIMIT): string {
  const out = [markerOf(p.env)];
  if ('markdown' in p.plan) out.push(p.plan.markdown);
  else out.push(`### ${p.product} plan for \`${p.env}\``, '', `> [!NOTE]`, `> ${p.plan.missing}`);
  if (p.diff) {
    const folded = 'markdown' in p.plan;
    out.push('');
    if (folded) out.push(`<details><summary>What the pull request changes: ${p.diff.summary}</summary>`, '');
    out.push(p.diff.markdown);
    if (folded) out.push('', '</details>');
  }
  const footer = `<sub>${p.product}: this comment is edited on every push${p.commit ? ` · last for \`${p.commit.slice(0, 7)}\`` : ''} · \`retail-sync pr comment\`</sub>`;
  let body = out.join('\n');
  if (body.length + footer.length + 2 > limit) {
    const note = `\n\n> [!WARNING]\n> The plan and diff were cut here to fit GitHub's ${limit.toLocaleString('en-US')} characters (${(body.length - limit).toLocaleString('en-US')}+ left out): \`rsync plan --format json\` and \`rsync diff --format json\` have everything.\n`;
    body = body.slice(0, limit - footer.length - note.length - 2) + note;
  }
  return `${body}\n\n${footer}`;
}

/** What a pull request's comment became. */
export interface CommentResult {
  action: 'created' | 'updated' | 'unchanged';
  id: number;
  url: string;
  length: number;
}

export interface GitHubOptions {
  token: string;
  /** https://api.github.com, or GitHub Enterprise's /api/v3, or a test's fake. */
  apiUrl: string;
  /** The longest wait for a rate limit before giving up (default 120 s). */
  maxWaitMs?: number;
}

type Status = { status?: number; response?: { headers?: Record<string, string | undefined>; data?: unknown } };

/** How long GitHub asks to wait before retrying, or undefined when the error is not a rate limit. */
export function rateLimitWait(e: Status, now = Date.now()): number | undefined {
  if (e.status !== 403 && e.status !== 429) return undefined;
  const h = e.response?.headers ?? {};
  const message = JSON.stringify(e.response?.data ?? '');
  const retryAfter = Number(h['retry-after']);
  if (h['retry-after'] !== undefined && Number.isFinite(retryAfter)) return retryAfter * 1000;
  if (h['x-ratelimit-remaining'] === '0' && h['x-ratelimit-reset'])
    return Math.max(0, Number(h['x-ratelimit-reset']) * 1000 - now) + 1000;
  if (e.status === 429 || /rate limit/i.test(message)) return 60_000;
  return undefined; // a 403 that is not a rate limit: a permission
}

async function withRateLimits<T>(what: string, o: GitHubOptions, call: () => Promise<T>): Promise<T> {
  const max = o.maxWaitMs ?? 120_000;
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const wait = rateLimitWait(e as Status);
      if (wait === undefined) throw githubError(what, e as Status & { message?: string });
      if (waited + wait > max || attempt >= 5)
        throw new RsyncError(
          `GitHub's rate limit: ${what} was refused, and the wait it asks for (${Math.ceil(wait / 1000)} s) is past ${Math.round(max / 1000)} s`,
          ExitCode.UNAVAILABLE,
          'Run the step again later, or use a token with a higher limit.',
        );
      waited += wait;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

function githubError(what: string, e: Status & { message?: string }): RsyncError {
  const data = e.response?.data as { message?: string; errors?: { message?: string }[] } | undefined;
  const said = [data?.message, ...(data?.errors ?? []).map((x) => x.message)].filter(Boolean).join(': ');
  if (e.status === 401)
    return new RsyncError(
      `GitHub refused the token (401${said ? ` ${said}` : ''}) when it was asked to ${what}`,
      ExitCode.FAILED,
      'Check the token the step reads (--token-env, GITHUB_TOKEN by default): it may be missing, expired or revoked.',
    );
  if (e.status === 403 || e.status === 404)
    return new RsyncError(
      `GitHub answered ${e.status}${said ? ` (${said})` : ''} when it was asked to ${what}`,
      ExitCode.FAILED,
      "The token needs `pull-requests: write` (a workflow's `permissions:`), and the repository and pull request must exist.",
    );
  if (e.status === undefined || e.status >= 500)
    return new RsyncError(
      `GitHub could not be reached to ${what}: ${said || e.message || 'no answer'}`,
      ExitCode.UNAVAILABLE,
      'Run the step again; --api-url says where GitHub is (GitHub Enterprise: https://<host>/api/v3).',
    );
  return new RsyncError(
    `GitHub answered ${e.status}${said ? ` (${said})` : ''} when it was asked to ${what}`,
    ExitCode.FAILED,
  );
}

/** Create the pull request's comment for this environment, or edit the one there (found by its marker). */
export async function upsertComment(
  pr: PullRequestRef,
  env: string,
  body: string,
  o: GitHubOptions,
): Promise<CommentResult> {
  const octokit = new Octokit({
    auth: o.token,
    baseUrl: o.apiUrl.replace(/\/$/, ''),
    userAgent: 'rsync-pr-comment',
    request: { retries: 0 },
  });
  const where = { owner: pr.owner, repo: pr.repo };
  const marker = markerOf(env);
  const comments = await withRateLimits(`list the comments of ${pr.owner}/${pr.repo}#${pr.number}`, o, () =>
    octokit.paginate(octokit.rest.issues.listComments, { ...where, issue_number: pr.number, per_page: 100 }),
  );
  const mine = comments.find((c) => typeof c.body === 'string' && c.body.startsWith(marker));
  if (mine) {
    if (mine.body === body) return { action: 'unchanged', id: mine.id, url: mine.html_url, length: body.length };
    const r = await withRateLimits(`edit comment ${mine.id}`, o, () =>
      octokit.rest.issues.updateComment({ ...where, comment_id: mine.id, body }),
    );
    return { action: 'updated', id: r.data.id, url: r.data.html_url, length: body.length };
  }
  const r = await withRateLimits(`comment on ${pr.owner}/${pr.repo}#${pr.number}`, o, () =>
    octokit.rest.issues.createComment({ ...where, issue_number: pr.number, body }),
  );
  return { action: 'created', id: r.data.id, url: r.data.html_url, length: body.length };
}

/**
 * The pull request a CI run is for: --repo and --pr, else GitHub Actions' GITHUB_REPOSITORY and the event's
 * pull_request.number (GITHUB_EVENT_PATH), else refs/pull/<n>/merge in GITHUB_REF.
 */
export function pullRequestFrom(
  given: { repo?: string; pr?: number },
  env: NodeJS.ProcessEnv,
  readEvent: (file: string) => unknown,
): PullRequestRef {
  const repo = given.repo ?? env.GITHUB_REPOSITORY;
  if (!repo || !/^[^/\s]+\/[^/\s]+$/.test(repo))
    throw new RsyncError(
      repo
        ? `--repo must be owner/name, not "${repo}"`
        : 'No repository: give --repo owner/name (GitHub Actions sets GITHUB_REPOSITORY)',
      ExitCode.USAGE,
    );
  let number = given.pr;
  if (number === undefined && env.GITHUB_EVENT_PATH) {
    try {
      const ev = readEvent(env.GITHUB_EVENT_PATH) as { pull_request?: { number?: number }; number?: number };
      number = ev.pull_request?.number ?? ev.number;
    } catch {
      /* fall through to GITHUB_REF */
    }
  }
  if (number === undefined) {
    const m = /^refs\/pull\/(\d+)\//.exec(env.GITHUB_REF ?? '');
    if (m) number = Number(m[1]);
  }
  if (number === undefined || !Number.isInteger(number) || number < 1)
    throw new RsyncError(
      'No pull request: give --pr <number> (in GitHub Actions, run this step on the pull_request event)',
      ExitCode.USAGE,
    );
  const [owner, name] = repo.split('/');
  return { owner, repo: name, number };
}
