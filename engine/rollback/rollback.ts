/**
 * Rollback (`rsync rollback`): the plan that returns resources to an earlier revision of what was deployed (their
 * mapping, settings, schedule — a revision is the whole resolved value), applied by apply/ with the usual checks (the
 * lock, the stale check) and recorded in the apply log as a rollback.
 *
 * Git stays the source of truth: the plan names the commits that introduced the revisions rolled back, to
 * `git revert`, and until Git says the same again the resources are "diverged from Git" (`divergedFromGit`, read
 * by `rsync status`): their deployed revision came from a rollback, not from a commit. The next plan from Git shows
 * the change back (an update to what Git says), so an apply without the revert undoes the rollback.
 *
 * What to roll back is a resource's address (to the revision before the deployed one, or --to-revision N), or an
 * apply-log entry (every resource it wrote, to the revision each had before it).
 */
import type pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { suggest } from '../load/loader.js';
import { fieldChanges, lineDiff } from '../plan/diff.js';
import { stateHash } from '../plan/plan.js';
import { type Change, identityOf, PLAN_FORMAT, type Plan } from '../plan/types.js';
import type { Database } from '../state/db.js';
import { readBlobs, readDeployed } from '../state/deployments.js';
import type { Branding } from '../workspace/branding.js';
import { isObject } from '../util/merge.js';

export interface RollbackRequest {
  env: string;
  /** An address (`<customer>/<kind>/<name>`, the environment in front allowed) or an apply-log entry number. */
  what: string;
  /** For an address: the revision to return to (default: the one before the deployed revision). */
  toRevision?: number;
  actor: string;
  branding: Branding;
  now?: Date;
}

/** What a rollback plan carries beyond a plan: where each resource goes, and the commits to revert in Git. */
export interface RollbackInfo {
  /** The apply-log entry rolled back, when one was given. */
  entry: number | null;
  resources: { address: string; fromRevision: number; toRevision: number; introducedBy: string | null }[];
  /** `git revert <sha>` of each, newest first: the commits that introduced the revisions rolled back. */
  revert: string[];
}

interface RevisionRow {
  address: string;
  revision: number;
  action: string;
  content_hash: string | null;
  spec: Record<string, unknown> | null;
  commit: string | null;
}

async function revisionsOf(pool: pg.Pool, env: string, addresses: string[]): Promise<Map<string, RevisionRow[]>> {
  const { rows } = await pool.query<RevisionRow>(
    `SELECT address, revision, action, content_hash, spec, commit FROM rsync.revisions
      WHERE env = $1 AND address = ANY($2) ORDER BY address, revision`,
    [env, addresses],
  );
  const out = new Map<string, RevisionRow[]>();
  for (const r of rows) out.set(r.address, [...(out.get(r.address) ?? []), r]);
  return out;
}

/** Each address to roll back and the revision it goes to. */
async function targets(db: Database, req: RollbackRequest, deployedAddresses: Set<string>) {
  if (/^\d+$/.test(req.what)) {
    const n = Number(req.what);
    const entry = await db.pool.query<{ env: string; action: string }>(
      `SELECT env, action FROM rsync.apply_log WHERE n = $1`,
      [n],
    );
    if (!entry.rows.length)
      throw new RsyncError(
        `There is no apply log entry ${n}.`,
        ExitCode.USAGE,
        'See the entries with `rsync history`.',
      );
    if (entry.rows[0].env !== req.env)
      throw new RsyncError(
        `Apply log entry ${n} is of ${entry.rows[0].env}, not ${req.env}.`,
        ExitCode.USAGE,
        `Give --env ${entry.rows[0].env}.`,
      );
    const { rows } = await db.pool.query<{ address: string; revision: number }>(
      `SELECT address, revision FROM rsync.revisions WHERE env = $1 AND apply_seq = $2 ORDER BY address`,
      [req.env, n],
    );
    if (!rows.length)
      throw new RsyncError(
        `Apply log entry ${n} (${entry.rows[0].action}) wrote no revisions: there is nothing to roll back.`,
        ExitCode.USAGE,
        'Give an entry of an apply that changed resources (`rsync history`), or an address.',
      );
    return { entry: n, wanted: rows.map((r) => ({ address: r.address, to: r.revision - 1, from: r.revision })) };
  }
  const parts = req.what.split('/');
  const address = parts.length === 4 && parts[0] === req.env ? parts.slice(1).join('/') : req.what;
  if (!deployedAddresses.has(address))
    throw new RsyncError(
      `${req.what}: no resource of ${req.env} has that address.`,
      ExitCode.USAGE,
      `Give an address as \`rsync plan\` shows it (<customer>/<kind>/<name>), or an apply log entry number.${suggest(address, deployedAddresses)}`,
    );
  return { entry: null, wanted: [{ address, to: req.toRevision, from: undefined as number | undefined }] };
}

/** The rollback as a plan (a value, like any plan: `apply` carries it out, checked for staleness). */
export async function planRollback(db: Database, req: RollbackRequest): Promise<Plan & { rollback: RollbackInfo }> {
  const deployed = await readDeployed(db.pool, req.env);
  const byAddress = new Map(deployed.map((d) => [d.address, d]));
  const { entry, wanted } = await targets(db, req, new Set(byAddress.keys()));
  const history = await revisionsOf(
    db.pool,
    req.env,
    wanted.map((w) => w.address),
  );
  const changes: Change[] = [];
  const info: RollbackInfo = { entry, resources: [], revert: [] };
  const blobsWanted: string[] = [];
  for (const w of wanted) {
    const have = byAddress.get(w.address);
    const revs = history.get(w.address) ?? [];
    if (!have) continue; // removed since: nothing deployed to roll back
    const current = have.revision;
    const to = w.to ?? current - 1;
    const target = revs.find((r) => r.revision === to);
    // Rolling back the apply that created it (an entry, not --to-revision): before that entry it did not exist, so
    // the rollback deletes it — as the plan of the commit before would have.
    const created = revs.find((r) => r.revision === (w.from ?? current));
    if (to === 0 && w.from !== undefined && created?.action === 'create' && current === w.from) {
      info.resources.push({ address: w.address, fromRevision: current, toRevision: 0, introducedBy: created.commit });
      if (created.commit && !info.revert.includes(created.commit)) info.revert.push(created.commit);
      changes.push({
        ...identityOf(have),
        action: 'delete',
        reason: `rollback of apply log entry ${entry}, which created it (revision ${current})`,
        fromRevision: current,
        beforeHash: have.hash,
        afterHash: null,
        fields: [],
        template: have.template,
      });
      continue;
    }
    if (!target || target.action === 'delete' || !target.spec || !target.content_hash) {
      const kept = revs.filter((r) => r.action !== 'delete' && r.revision !== current).map((r) => r.revision);
      throw new RsyncError(
        `${w.address} has no revision ${to} to roll back to in ${req.env}${to < 1 ? ' (revision 1 is its first)' : ''}.`,
        ExitCode.USAGE,
        kept.length
          ? `Its earlier revisions: ${kept.join(', ')} (--to-revision N); it is at revision ${current}.`
          : `It has only revision ${current}: there is nothing earlier to return to.`,
      );
    }
    if (target.content_hash === have.hash) continue; // already as it was
    const introduced = revs.find((r) => r.revision === (w.from ?? current));
    info.resources.push({
      address: w.address,
      fromRevision: current,
      toRevision: to,
      introducedBy: introduced?.commit ?? null,
    });
    if (introduced?.commit && !info.revert.includes(introduced.commit)) info.revert.push(introduced.commit);
    const sha = (spec: Record<string, unknown>) =>
      isObject(spec.mapping) ? (spec.mapping as { sha256?: string }).sha256 : undefined;
    const [before, after] = [sha(have.spec), sha(target.spec)];
    if (before && after && before !== after) blobsWanted.push(before, after);
    changes.push({
      ...identityOf(have),
      action: 'update',
      reason: `rollback to revision ${to} (from ${current})`,
      fromRevision: current,
      beforeHash: have.hash,
      afterHash: target.content_hash,
      after: {
        ...identityOf(have),
        spec: target.spec,
        hash: target.content_hash,
        template: have.template,
        source: null,
      },
      fields: fieldChanges(have.spec, target.spec),
      template: have.template,
    });
  }
  const texts = await readBlobs(db.pool, blobsWanted);
  for (const c of changes) {
    const sha = (spec: Record<string, unknown> | undefined) =>
      spec && isObject(spec.mapping) ? (spec.mapping as { sha256?: string }).sha256 : undefined;
    const before = sha(byAddress.get(c.address)?.spec);
    const after = sha(c.after?.spec);
    if (before && after && before !== after) c.mappingDiff = lineDiff(texts.get(before) ?? '', texts.get(after) ?? '');
  }
  const deletes = changes.filter((c) => c.action === 'delete').length;
  const summary = {
    create: 0,
    update: changes.length - deletes,
    delete: deletes,
    unchanged: 0,
    drift: 0,
    byCustomer: {} as Record<string, { create: number; update: number; delete: number }>,
    byTemplate: {},
  };
  for (const c of changes) {
    const k = c.customer ?? '(partner-wide)';
    summary.byCustomer[k] ??= { create: 0, update: 0, delete: 0 };
    summary.byCustomer[k][c.action === 'delete' ? 'delete' : 'update']++;
  }
  return {
    version: PLAN_FORMAT,
    format: PLAN_FORMAT,
    env: req.env,
    ref: null,
    commit: null,
    createdAt: (req.now ?? new Date()).toISOString(),
    createdBy: req.actor,
    customers: null,
    workspace: null,
    basis: { stateHash: stateHash(deployed), resources: deployed.length },
    // Only what the rollback changes: its live objects are healed, nobody else's.
    selection: {
      targets: info.resources.map((r) => r.address),
      excludes: [],
      selector: {},
      included: info.resources.map((r) => r.address),
      leftOut: { count: 0, create: 0, update: 0, delete: 0, addresses: [] },
    },
    changes,
    drift: [],
    summary,
    blobs: {},
    branding: req.branding,
    empty: changes.length === 0,
    rollback: info,
  };
}

/**
 * Deployed resources of `env` whose revision came from a rollback (not from a commit), with the revision and the
 * commits to revert: "diverged from Git" until an apply from Git writes them again, or until Git says the same
 * again: `git` holds the desired hashes at the environment's ref (the plan's desired-state cache, when that commit
 * was planned), and a resource whose deployed hash is Git's is no longer diverged.
 */
export async function divergedFromGit(
  pool: pg.Pool | pg.PoolClient,
  env: string,
  git?: ReadonlyMap<string, string>,
): Promise<Map<string, { revision: number; entry: number; revert: string[] }>> {
  const { rows } = await pool.query<{
    address: string;
    revision: number;
    hash: string;
    n: string;
    detail: { rollback?: RollbackInfo };
  }>(
    `SELECT r.address, r.revision, r.content_hash AS hash, l.n, l.detail FROM rsync.resources r
       JOIN rsync.revisions v ON v.env = r.env AND v.address = r.address AND v.revision = r.revision
       JOIN rsync.apply_log l ON l.n = v.apply_seq
      WHERE r.env = $1 AND l.action = 'rollback'`,
    [env],
  );
  return new Map(
    rows
      .filter((r) => git?.get(r.address) !== r.hash)
      .map((r) => [
        r.address,
        {
          revision: r.revision,
          entry: Number(r.n),
          revert: (r.detail.rollback?.resources ?? [])
            .filter((x) => x.address === r.address && x.introducedBy)
            .map((x) => x.introducedBy as string),
        },
      ]),
  );
}
