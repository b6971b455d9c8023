/**
 * rsync.resources, rsync.revisions and rsync.blobs: the deployed state of each environment (DESIGN: deployed) —
 * the resources applied, their revisions, and the mapping texts by hash. Apply writes them (apply/), plan and the
 * runtime read them here.
 */
import type pg from 'pg';
import type { DeployedLike } from '../live/layout.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** A deployed resource as plan pairs it: its address, revision, content hash and spec. */
export interface DeployedRow extends DeployedLike {
  revision: number;
  hash: string;
  template: string | null;
}

/** A deployed resource with its full spec, as the runtime resolves flows from it. */
export interface ResourceRow {
  address: string;
  customer: string | null;
  kind: string;
  name: string;
  revision: number;
  spec: Record<string, unknown>;
}

export async function readDeployed(db: Queryable, env: string): Promise<DeployedRow[]> {
  const { rows } = await db.query(
    `SELECT address, customer, kind, name, revision, content_hash AS hash, spec, template
       FROM rsync.resources WHERE env = $1 ORDER BY address`,
    [env],
  );
  return rows as DeployedRow[];
}

/**
 * Deployed resources without their full specs: what a plan from the desired-state cache needs (hashes for
 * pairing, and of a flow only what decides its queue and schedule, for drift).
 */
export async function readDeployedSummary(db: Queryable, env: string): Promise<DeployedRow[]> {
  const { rows } = await db.query(
    `SELECT address, customer, kind, name, revision, content_hash AS hash, template,
            CASE WHEN kind = 'flow'
                 THEN jsonb_build_object('effective', spec->'effective', 'spec', jsonb_build_object('enabled', spec->'spec'->'enabled'))
                 ELSE '{}'::jsonb END AS spec
       FROM rsync.resources WHERE env = $1 ORDER BY address`,
    [env],
  );
  return rows as DeployedRow[];
}

export async function readBlobs(db: Queryable, shas: Iterable<string>): Promise<Map<string, string>> {
  const list = [...new Set(shas)];
  if (!list.length) return new Map();
  const { rows } = await db.query<{ sha256: string; text: string }>(
    `SELECT sha256, text FROM rsync.blobs WHERE sha256 = ANY($1)`,
    [list],
  );
  return new Map(rows.map((r) => [r.sha256, r.text]));
}

export async function readResourceRows(db: Queryable, env: string): Promise<ResourceRow[]> {
  const { rows } = await db.query<ResourceRow>(
    `SELECT address, customer, kind, name, revision, spec FROM rsync.resources WHERE env = $1`,
    [env],
  );
  return rows;
}

/** The spec of one revision of a resource (undefined: no such revision, or it was the delete). */
export async function readRevisionSpec(
  db: Queryable,
  env: string,
  address: string,
  revision: number,
): Promise<Record<string, unknown> | undefined> {
  const { rows } = await db.query<{ spec: Record<string, unknown> | null }>(
    `SELECT spec FROM rsync.revisions WHERE env = $1 AND address = $2 AND revision = $3 AND action <> 'delete'`,
    [env, address, revision],
  );
  return rows[0]?.spec ?? undefined;
}

/** The deployed state's version: changes whenever an apply commits (the worker polls it to follow applies). */
export async function deployedVersion(db: Queryable, env: string): Promise<string> {
  const { rows } = await db.query<{ v: string }>(
    `SELECT coalesce(max(applied_at)::text, '') || ':' || count(*) AS v FROM rsync.resources WHERE env = $1`,
    [env],
  );
  return rows[0].v;
}
