/**
 * `rsync pr comment` against a fake GitHub (test/helpers/github-fake.ts, on 127.0.0.1) and a real Git repository
 * holding the example workspace: a pull request branch with a mapping change is commented on once; a second push
 * edits that comment instead of adding one, and the comment then holds the second change; the plan is in it when a
 * database is given; rate limits are waited out; a refused token fails with its reason and without its value; a
 * workspace with errors fails the check, with the errors in the comment. The comment's size is tested on its own.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commentBody, markerOf } from '../../engine/gitops/pr-comment.js';
import { COMMENT_LIMIT } from '../../engine/plan/markdown.js';
import { buildProblem, edit, exampleRepo, git, runCli, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { type FakeGitHub, startFakeGitHub } from '../helpers/github-fake.js';

const PR = 'acme/integrations#7';
const MAPPING = 'templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata';

describe('rsync pr comment', () => {
  let gh: FakeGitHub;
  let repo: string;
  let db: TestDatabase;

  beforeAll(async () => {
    const problem = buildProblem(['pr/comment']);
    if (problem) throw new Error(problem);
    gh = await startFakeGitHub({ repos: ['acme/integrations'], pulls: [7, 8], seed: 120 });
    repo = exampleRepo('rsync-pr-comment-');
    git(repo, 'checkout', '--quiet', '-b', 'change-orders');
    db = await testDatabase('pr_comment');
  });
  afterAll(async () => {
    await gh?.close();
    await db?.drop();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  const comment = (args: string[], env: Record<string, string> = {}, url?: string) =>
    runCli(
      [
        'pr',
        'comment',
        '--env',
        'staging',
        '--repo',
        'acme/integrations',
        '--base',
        'main',
        '--api-url',
        gh.url,
        ...args,
      ],
      repo,
      { url, actor: 'ci <ci@acme.example>', env: { GITHUB_TOKEN: gh.token, ...env } },
    );
  const ours = (pr = PR) => gh.comments(pr).filter((c) => c.body.startsWith(markerOf('staging')));

  it('comments once, and a second push edits that comment: one comment, holding the second change', async () => {
    edit(repo, MAPPING, 'Version 2 adds, over version 1:', 'Version 2 adds, over version 1 (salesChannel):');
    git(repo, 'commit', '--quiet', '-am', 'orders: channel is salesChannel');
    const first = await comment(['--pr', '7', '--no-plan', '--json']);
    expect(first.status, show(first)).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      version: 1,
      pullRequest: PR,
      planned: false,
      valid: true,
      comment: { action: 'created' },
    });
    expect(ours()).toHaveLength(1);
    expect(ours()[0].body).toContain('salesChannel');
    expect(ours()[0].body).toContain('only the diff is shown');
    // Past the reviewers' 120 comments: found again on the second page of 100.
    expect(gh.requests.some((r) => r.line.includes('page=2'))).toBe(true);

    edit(repo, MAPPING, '(salesChannel)', '(orderChannel)');
    git(repo, 'commit', '--quiet', '-am', 'orders: channel is orderChannel');
    const second = await comment(['--pr', '7', '--no-plan']);
    expect(second.status, show(second)).toBe(0);
    expect(second.stdout).toContain('Updated the comment on acme/integrations#7');
    expect(ours()).toHaveLength(1);
    expect(gh.comments(PR)).toHaveLength(121);
    expect(ours()[0].body).toContain('orderChannel');
    expect(ours()[0].body).toContain(git(repo, 'rev-parse', '--short=7', 'HEAD').trim());
    expect(ours()[0].body.length).toBeLessThanOrEqual(COMMENT_LIMIT);

    // The same again: nothing to edit.
    const third = await comment(['--pr', '7', '--no-plan', '--json']);
    expect(JSON.parse(third.stdout).comment.action).toBe('unchanged');
  });

  it('with a database the plan is the comment and the diff is folded under it', async () => {
    const r = await comment(['--pr', '8', '--json'], {}, db.url);
    expect(r.status, show(r)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ planned: true, valid: true, comment: { action: 'created' } });
    const body = ours('acme/integrations#8')[0].body;
    expect(body).toMatch(/plan for `staging`/);
    expect(body).toContain('<details><summary>What the pull request changes:');
    expect(body.indexOf('plan for `staging`')).toBeLessThan(body.indexOf('<details><summary>What the pull request'));
  });

  it('waits out a primary and a secondary rate limit, as GitHub asks', async () => {
    gh.exhaust();
    const a = await comment(['--pr', '7', '--no-plan']);
    expect(a.status, show(a)).toBe(0);
    gh.secondary();
    const b = await comment(['--pr', '7', '--no-plan']);
    expect(b.status, show(b)).toBe(0);
    expect(gh.requests.filter((x) => x.status === 403 || x.status === 429)).toHaveLength(2);
    expect(ours()).toHaveLength(1);
  });

  it('a refused token fails with the reason and never the value; no token is a usage error', async () => {
    const bad = await comment(['--pr', '7', '--no-plan'], { GITHUB_TOKEN: 'ghp_plantedSecretValue123' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('GitHub refused the token (401 Bad credentials)');
    expect(bad.stdout + bad.stderr).not.toContain('ghp_plantedSecretValue123');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const none = await comment(['--pr', '7', '--no-plan', '--token-env', 'RSYNC_TEST_NO_SUCH_TOKEN']);
    expect(none.status).toBe(64);
    expect(none.stderr).toContain('the environment variable RSYNC_TEST_NO_SUCH_TOKEN is not set');
  });

  it('a workspace with errors is commented on with them, and fails the check', async () => {
    edit(repo, 'integrations/northwind/customer.yaml', 'kind: Customer', 'kind: Customr');
    git(repo, 'commit', '--quiet', '-am', 'a typo');
    const r = await comment(['--pr', '8'], {}, db.url);
    expect(r.status, show(r)).toBe(1);
    const body = ours('acme/integrations#8')[0].body;
    expect(body).toMatch(/The workspace has \d+ errors?, so no plan was made/);
    expect(body).toContain('integrations/northwind/customer.yaml:');
    git(repo, 'revert', '--quiet', '--no-edit', 'HEAD');
  });
});

describe('the comment body', () => {
  it('keeps within GitHub 65,536 characters and says what was cut', () => {
    const huge = Array.from({ length: 4000 }, (_, i) => `- change ${i} ${'x'.repeat(40)}`).join('\n');
    const body = commentBody({
      env: 'production',
      plan: { markdown: huge },
      diff: { markdown: huge, summary: '4,000 changes' },
      commit: 'abcdef0123',
      product: 'Acme Connect',
    });
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body.startsWith(markerOf('production'))).toBe(true);
    expect(body).toContain("were cut here to fit GitHub's 65,536 characters");
    expect(body).toContain('last for `abcdef0`');
    const small = commentBody({ env: 'staging', plan: { missing: 'no db' }, product: 'rsync' });
    expect(small).not.toContain('were cut');
  });
});
