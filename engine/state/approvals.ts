/**
 * The approvals of saved plans (migration 017), as rows: a plan submitted for approval (kept whole, with the
 * deployed state it was made against), each approval of it (one per person), and closing a plan once it is applied
 * or stale. The workflow on top — how many a plan needs, who may approve, refusing an unapproved apply, the
 * console's list of pending plans — is engine/apply/approvals.ts (`approvePlan`, `pendingApprovals`,
 * `approvalStatus`); this module knows no plans, only their hashes and JSON.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** What a plan awaiting approval is kept as. */
export interface SubmittedPlan {
  env: string;
  /** sha256 of the plan's canonical JSON (plan/file.ts planHash). */
  hash: string;
  /** The deployed state it was made against (its basis.stateHash). */
  stateHash: string;
  /** Its createdBy. */
  author: string;
  commit: string | null;
  createdAt: string;
  summary: unknown;
  plan: unknown;
  /** Approvals it needs. */
  required: number;
}

export interface ApprovalRow {
  approver: string;
  /** Who that is: one approval per person counts. */
  person: string;
  at: string;
  reason: string | null;
}

export interface SubmittedPlanRow extends Omit<SubmittedPlan, 'plan'> {
  submittedAt: string;
  submittedBy: string;
  closedAt: string | null;
  closedReason: 'applied' | 'stale' | null;
  approvals: ApprovalRow[];
}

/** Keep `p` as awaiting approval (again: its required count is refreshed; a closed plan stays closed). */
export async function submitPlan(db: Queryable, p: SubmittedPlan, by: string): Promise<void> {
  await db.query(
    `INSERT INTO rsync.approval_plans (env, plan_hash, state_hash, author, commit, plan_created_at, summary, plan, required, submitted_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (env, plan_hash) DO UPDATE SET required = excluded.required`,
    [
      p.env,
      p.hash,
      p.stateHash,
      p.author,
      p.commit,
      p.createdAt,
      JSON.stringify(p.summary),
      JSON.stringify(p.plan),
      p.required,
      by,
    ],
  );
}

/** Record `person`'s approval of a submitted plan; false when that person had approved it already. */
export async function recordApproval(
  db: Queryable,
  a: { env: string; hash: string; approver: string; person: string; reason?: string | null },
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO rsync.approvals (env, plan_hash, approver, person, reason) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (env, plan_hash, person) DO NOTHING`,
    [a.env, a.hash, a.approver, a.person, a.reason ?? null],
  );
  return (r.rowCount ?? 0) > 0;
}

const SELECT_PLANS = `
  SELECT p.env, p.plan_hash, p.state_hash, p.author, p.commit, p.plan_created_at, p.summary, p.required,
         p.submitted_at, p.submitted_by, p.closed_at, p.closed_reason,
         COALESCE((SELECT jsonb_agg(jsonb_build_object('approver', a.approver, 'person', a.person, 'at', a.at, 'reason', a.reason) ORDER BY a.at, a.id)
                     FROM rsync.approvals a WHERE a.env = p.env AND a.plan_hash = p.plan_hash), '[]'::jsonb) AS approvals
    FROM rsync.approval_plans p`;

/** A submitted plan and its approvals (undefined: never submitted). */
export async function submittedPlan(db: Queryable, env: string, hash: string): Promise<SubmittedPlanRow | undefined> {
  const { rows } = await db.query(`${SELECT_PLANS} WHERE p.env = $1 AND p.plan_hash = $2`, [env, hash]);
  return rows[0] ? rowOf(rows[0]) : undefined;
}

/** The submitted plan's JSON, to approve or apply it by its hash (the console). */
export async function submittedPlanJson(db: Queryable, env: string, hash: string): Promise<unknown> {
  const { rows } = await db.query(`SELECT plan FROM rsync.approval_plans WHERE env = $1 AND plan_hash = $2`, [
    env,
    hash,
  ]);
  return rows[0]?.plan;
}

/** The plans of `env` still open (neither applied nor closed as stale), made against `stateHash`, oldest first. */
export async function openPlans(db: Queryable, env: string, stateHash: string): Promise<SubmittedPlanRow[]> {
  const { rows } = await db.query(
    `${SELECT_PLANS} WHERE p.env = $1 AND p.closed_at IS NULL AND p.state_hash = $2 ORDER BY p.submitted_at, p.plan_hash`,
    [env, stateHash],
  );
  return rows.map(rowOf);
}

/**
 * After an apply of `env`: the applied plan is closed as applied, and every other open plan made against another
 * deployed state than `stateHash()` (the state now; computed only when a plan is open) as stale — for good, even if the state came back later.
 */
export async function closePlans(
  db: Queryable,
  env: string,
  applied: string | null,
  stateHash: () => string,
): Promise<{ applied: number; stale: number }> {
  const open = await db.query(`SELECT 1 FROM rsync.approval_plans WHERE env = $1 AND closed_at IS NULL LIMIT 1`, [env]);
  if (!open.rows.length) return { applied: 0, stale: 0 };
  const a = applied
    ? await db.query(
        `UPDATE rsync.approval_plans SET closed_at = now(), closed_reason = 'applied'
          WHERE env = $1 AND plan_hash = $2 AND closed_at IS NULL`,
        [env, applied],
      )
    : { rowCount: 0 };
  const s = await db.query(
    `UPDATE rsync.approval_plans SET closed_at = now(), closed_reason = 'stale'
      WHERE env = $1 AND closed_at IS NULL AND state_hash <> $2`,
    [env, stateHash()],
  );
  return { applied: a.rowCount ?? 0, stale: s.rowCount ?? 0 };
}

function rowOf(r: Record<string, unknown>): SubmittedPlanRow {
  const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
  return {
    env: r.env as string,
    hash: r.plan_hash as string,
    stateHash: r.state_hash as string,
    author: r.author as string,
    commit: (r.commit as string | null) ?? null,
    createdAt: iso(r.plan_created_at)!,
    summary: r.summary,
    required: r.required as number,
    submittedAt: iso(r.submitted_at)!,
    submittedBy: r.submitted_by as string,
    closedAt: iso(r.closed_at),
    closedReason: (r.closed_reason as SubmittedPlanRow['closedReason']) ?? null,
    approvals: (r.approvals as Record<string, unknown>[]).map((a) => ({
      approver: a.approver as string,
      person: a.person as string,
      at: iso(a.at)!,
      reason: (a.reason as string | null) ?? null,
    })),
  };
}
