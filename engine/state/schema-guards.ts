/**
 * rsync.schema_guards: per flow, its target's schema as the last passing check of the schema guard saw it (the
 * baseline a later check compares with: a field gone since, a type changed since), the fields the checked revision
 * writes, and — while the guard holds the flow paused — what it found. runtime/schema-guard.ts writes it before a
 * run's first write; `rsync plan` reads the findings as drift. An apply never touches it.
 */
import type pg from 'pg';
import type { Diagnostic } from '../diagnostics/diagnostic.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** One way the target stopped fitting what the flow writes. */
export interface SchemaChange {
  field: string;
  /** dropped: a field the flow writes is gone; required: a field the flow does not write must now be filled; type. */
  change: 'dropped' | 'required' | 'type';
  /** The field's type before (dropped, type) and now (required, type). */
  before?: string;
  after?: string;
}

export interface SchemaFinding {
  diagnostic: Diagnostic;
  changes: SchemaChange[];
  /** True when the fields written are the mapping's output (a change of the mapping can fix it), not the connector's. */
  byMapping?: boolean;
  /** The run that found it. */
  run: number;
  at: string;
}

export interface SchemaGuardRow {
  env: string;
  address: string;
  target: string;
  revision: number;
  writes: string[] | null;
  seen: Record<string, string>;
  finding: SchemaFinding | null;
  checkedAt: string;
}

type Raw = Omit<SchemaGuardRow, 'checkedAt'> & { checked_at: Date };

const row = ({ checked_at, ...r }: Raw): SchemaGuardRow => ({ ...r, checkedAt: checked_at.toISOString() });

/** The guard's row of a flow, if a run has checked it. */
export async function readSchemaGuard(
  db: Queryable,
  env: string,
  address: string,
): Promise<SchemaGuardRow | undefined> {
  const { rows } = await db.query<Raw>(`SELECT * FROM rsync.schema_guards WHERE env = $1 AND address = $2`, [
    env,
    address,
  ]);
  return rows[0] && row(rows[0]);
}

/** The flows of an environment the guard found a schema change for (and holds paused), by address. */
export async function schemaFindings(db: Queryable, env: string): Promise<SchemaGuardRow[]> {
  const { rows } = await db.query<Raw>(
    `SELECT * FROM rsync.schema_guards WHERE env = $1 AND finding IS NOT NULL ORDER BY address`,
    [env],
  );
  return rows.map(row);
}

/**
 * Record a check: a passing one (`finding` null) makes `seen` the baseline and clears an earlier finding; a failing
 * one keeps the baseline it was compared with and records the finding.
 */
export async function saveSchemaGuard(
  db: Queryable,
  g: Pick<SchemaGuardRow, 'env' | 'address' | 'target' | 'revision' | 'writes' | 'seen' | 'finding'>,
): Promise<void> {
  await db.query(
    `INSERT INTO rsync.schema_guards (env, address, target, revision, writes, seen, finding)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (env, address) DO UPDATE SET target = excluded.target, revision = excluded.revision,
       writes = excluded.writes, finding = excluded.finding, checked_at = now(),
       seen = CASE WHEN excluded.finding IS NULL THEN excluded.seen ELSE rsync.schema_guards.seen END`,
    [
      g.env,
      g.address,
      g.target,
      g.revision,
      g.writes === null ? null : JSON.stringify(g.writes),
      JSON.stringify(g.seen),
      g.finding === null ? null : JSON.stringify(g.finding),
    ],
  );
}
