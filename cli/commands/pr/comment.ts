import { readFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { renderDiffMarkdown, diffSummaryLine } from '../../../engine/diff/render.js';
import { diffWorkspace } from '../../../engine/diff/index.js';
import {
  type CommentParts,
  type CommentResult,
  commentBody,
  DIFF_SHARE,
  PLAN_SHARE,
  pullRequestFrom,
  upsertComment,
} from '../../../engine/gitops/pr-comment.js';
import { COMMENT_LIMIT } from '../../../engine/plan/markdown.js';
import { planEnvironment } from '../../../engine/plan/index.js';
import { renderPlanMarkdown } from '../../../engine/plan/render.js';
import { currentActor, resolveEnvironment } from '../../../engine/workspace/index.js';
import { RsyncCommand } from '../../base.js';
import { openDatabase, workspaceRoot } from '../../database.js';

export interface PrCommentResult {
  version: 1;
  env: string;
  pullRequest: string | null;
  planned: boolean;
  valid: boolean;
  comment: CommentResult | null;
  length: number;
  /** With --dry-run: the body that would be posted. */
  body?: string;
}

export default class PrComment extends RsyncCommand<PrCommentResult> {
  static summary = 'Post the plan and the diff of a pull request as one comment on it, edited on every push.';
  static description = `Renders what the pull request changes (rsync diff <base>...HEAD) and, where a state database is
reachable (DATABASE_URL, or --plan), the plan of HEAD against what is deployed in the environment, as Markdown with
each customer's changes folded; then creates one comment on the pull request, or edits the one it made before (found
by a marker naming the environment), so that later pushes update it instead of adding more. The body stays within
GitHub's 65,536 characters and says what it left out.

In GitHub Actions the repository, the pull request and the base come from the run (GITHUB_REPOSITORY, the event,
GITHUB_BASE_REF); the token is read from the environment variable --token-env names (GITHUB_TOKEN), never from a flag.
Exit code 1 when the workspace has errors (the comment says which), so the check fails; 0 otherwise.`;
  static examples = [
    '<%= config.bin %> pr comment --env staging',
    '<%= config.bin %> pr comment --env production --repo acme/integrations --pr 42 --base origin/main',
    '<%= config.bin %> pr comment --dry-run --no-plan',
  ];
  static args = { path: Args.string({ description: 'the workspace (default: the current folder)', default: '.' }) };
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment to plan (default: the first in rsync.yaml)' }),
    base: Flags.string({
      description: 'what the pull request is compared with (default: origin/$GITHUB_BASE_REF, else main)',
    }),
    repo: Flags.string({ description: 'the repository, owner/name (default: $GITHUB_REPOSITORY)' }),
    pr: Flags.integer({ description: "the pull request's number (default: from the GitHub Actions event)", min: 1 }),
    'token-env': Flags.string({
      description: 'the environment variable that holds the GitHub token',
      default: 'GITHUB_TOKEN',
    }),
    'api-url': Flags.string({ description: 'the GitHub API (default: $GITHUB_API_URL, else https://api.github.com)' }),
    plan: Flags.boolean({
      description: 'include the plan (needs the state database; default: when DATABASE_URL is set)',
      allowNo: true,
    }),
    'dry-run': Flags.boolean({ description: 'print the comment instead of posting it' }),
    impact: Flags.boolean({
      description: "with the plan, its data impact: each changed flow's revisions over the worker's stored samples",
    }),
  };

  async run(): Promise<PrCommentResult> {
    const { args, flags } = await this.parse(PrComment);
    const root = await workspaceRoot(args.path);
    const env = (await resolveEnvironment(root, flags.env)).env;
    const pr = flags['dry-run']
      ? null
      : pullRequestFrom({ repo: flags.repo, pr: flags.pr }, process.env, (f) => JSON.parse(readFileSync(f, 'utf8')));
    const token = flags['dry-run'] ? '' : process.env[flags['token-env']];
    if (pr && !token)
      throw new RsyncError(
        `No GitHub token: the environment variable ${flags['token-env']} is not set`,
        ExitCode.USAGE,
        'In GitHub Actions pass it to the step: `env: { GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }} }`, with `permissions: pull-requests: write`.',
      );
    const base = flags.base ?? (process.env.GITHUB_BASE_REF ? `origin/${process.env.GITHUB_BASE_REF}` : 'main');

    const diff = await diffWorkspace({ path: root, base: `${base}...HEAD` });
    const withPlan = flags.plan ?? Boolean(process.env.DATABASE_URL);
    let product = diff.branding.productName ?? 'rsync';
    let valid = diff.head.valid;
    let plan: CommentParts['plan'] = {
      missing:
        'No state database was given (DATABASE_URL), so only the diff is shown; with one, this comment also shows the plan against what is deployed.',
    };
    if (withPlan) {
      const db = await openDatabase(root, true);
      try {
        const outcome = await planEnvironment(db, {
          path: root,
          env,
          ref: 'HEAD',
          actor: await currentActor(root),
          ...(flags.impact ? { impact: {} } : {}),
        });
        if (outcome.ok) {
          plan = { markdown: renderPlanMarkdown(outcome.plan, { limit: PLAN_SHARE }) };
          product = outcome.plan.branding.productName ?? product;
        } else {
          valid = false;
          const errors = outcome.diagnostics.filter((d) => d.severity === 'error');
          const listed = errors.slice(0, 50).map((d) => {
            const where = d.range ? `\`${d.range.file}:${d.range.start.line}\` ` : '';
            return `> - ${where}**${d.summary.replace(/\n/g, ' ')}** (${d.code})`;
          });
          plan = {
            missing: `The workspace has ${errors.length} error${errors.length === 1 ? '' : 's'}, so no plan was made; \`retail-sync validate\` shows them all:\n${listed.join('\n')}${errors.length > 50 ? `\n> - … and ${errors.length - 50} more` : ''}`,
          };
        }
      } finally {
        await db.close();
      }
    }
    const parts: CommentParts = {
      env,
      plan,
      diff: {
        markdown: renderDiffMarkdown(diff, { limit: 'markdown' in plan ? DIFF_SHARE : COMMENT_LIMIT - 4_000 }),
        summary: diffSummaryLine(diff),
      },
      commit: diff.head.commit ?? undefined,
      product,
    };
    const body = commentBody(parts);
    let comment: CommentResult | null = null;
    if (flags['dry-run']) {
      if (!this.json) this.log(body);
    } else if (pr) {
      const apiUrl = flags['api-url'] ?? process.env.GITHUB_API_URL ?? 'https://api.github.com';
      comment = await upsertComment(pr, env, body, { token: token!, apiUrl });
      if (!this.json)
        this.log(
          `${comment.action === 'created' ? 'Commented on' : comment.action === 'updated' ? 'Updated the comment on' : 'The comment is already current on'} ${pr.owner}/${pr.repo}#${pr.number}: ${comment.url} (${body.length.toLocaleString('en-US')} characters${'markdown' in plan ? ', plan and diff' : ', diff only'})`,
        );
    }
    if (!valid && !this.json) this.logToStderr('rsync: the workspace has errors (see the comment); failing the check.');
    this.exitCode = valid ? ExitCode.OK : ExitCode.FAILED;
    return {
      version: 1,
      env,
      pullRequest: pr ? `${pr.owner}/${pr.repo}#${pr.number}` : null,
      planned: 'markdown' in plan,
      valid,
      comment,
      length: body.length,
      ...(flags['dry-run'] ? { body } : {}),
    };
  }
}
