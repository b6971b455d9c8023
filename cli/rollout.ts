/** What the `rsync rollout` commands share: the flags, the engine's context, and the status as text and JSON. */
import { Args, Flags } from '@oclif/core';
import type { GateVerdict } from '../engine/rollout/gates.js';
import { pauseRollout, type RolloutContext, type RolloutStatus, rolloutStatus } from '../engine/rollout/rollout.js';
import type { Database } from '../engine/state/db.js';
import type { RolloutRow } from '../engine/state/rollouts.js';
import { cliIdentity } from './identity.js';
import { openRuntime, runtimeFlags } from './runtime.js';

export const rolloutArgs = {
  name: Args.string({ description: 'the Rollout (metadata.name in rsync.yaml or rollouts.yaml)', required: true }),
};
export const rolloutFlags = runtimeFlags;
export const cohortFlag = (description: string) => Flags.string({ char: 'c', description, multiple: true });

/** The database and the engine's context, acting as the user (held to `operate`, or `approve` for approvals). */
export async function openRollout(
  flags: { env?: string; path: string },
  json: boolean,
  action: 'read' | 'operate' | 'approve' = 'operate',
): Promise<{ db: Database; env: string; root: string; ctx: RolloutContext }> {
  const { db, env, root } = await openRuntime(flags, json);
  try {
    const { actor } = await cliIdentity(db, root, action);
    return { db, env, root, ctx: { db, url: db.url, actor } };
  } catch (e) {
    await db.close();
    throw e;
  }
}

export interface RolloutJson {
  id: number;
  env: string;
  name: string;
  state: RolloutRow['state'];
  commit: string | null;
  reason: string | null;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  current: string;
  cohorts: {
    name: string;
    customers: string[];
    selector: Record<string, string> | null;
    gate: Record<string, unknown>;
    state: string;
    appliedAt: string | null;
    applyEntry: number | null;
    reason: string | null;
    approvedBy: string | null;
    revertedAt: string | null;
    revertEntry: number | null;
  }[];
  /** The current cohort's gate as it stands now (null once decided). */
  gate: GateVerdict | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function rolloutJson(s: RolloutStatus): RolloutJson {
  const r = s.rollout;
  return {
    id: r.id,
    env: r.env,
    name: r.name,
    state: r.state,
    commit: r.commit,
    reason: r.reason,
    startedBy: r.startedBy,
    startedAt: r.startedAt.toISOString(),
    finishedAt: iso(r.finishedAt),
    current: r.cohorts[r.current]?.name ?? '',
    cohorts: r.cohorts.map((c) => ({
      name: c.name,
      customers: c.customers,
      selector: c.selector,
      gate: c.gate,
      state: c.state,
      appliedAt: iso(c.appliedAt),
      applyEntry: c.applyEntry,
      reason: c.reason,
      approvedBy: c.approvedBy,
      revertedAt: iso(c.revertedAt),
      revertEntry: c.revertEntry,
    })),
    gate: s.gate,
  };
}

const gateText = (gate: Record<string, unknown>) =>
  Object.entries(gate)
    .map(([k, v]) => (v === true ? k : `${k} ${String(v)}`))
    .join(', ') || 'none';

/** The status as text: the rollout's line, then one line per cohort, and the current gate's checks. */
export function renderRollout(s: RolloutStatus): string {
  const r = s.rollout;
  const lines = [
    `rollout ${r.name} in ${r.env}: ${r.state.toUpperCase()}${r.commit ? ` (commit ${r.commit.slice(0, 12)})` : ''}, started by ${r.startedBy} at ${r.startedAt.toISOString()}`,
  ];
  if (r.reason) lines.push(`  ${r.state === 'halted' ? 'halted' : 'why'}: ${r.reason}`);
  r.cohorts.forEach((c, i) => {
    const here = i === r.current && (r.state === 'running' || r.state === 'paused' || r.state === 'halted');
    const when =
      c.state === 'reverted'
        ? `reverted ${c.revertedAt?.toISOString()}${c.revertEntry ? ` (apply log entry ${c.revertEntry})` : ''}`
        : c.appliedAt
          ? `applied ${c.appliedAt.toISOString()}${c.applyEntry ? ` (apply log entry ${c.applyEntry})` : ''}`
          : '';
    lines.push(
      `${here ? '▶' : ' '} ${String(i + 1)}. ${c.name.padEnd(12)} ${c.state.toUpperCase().padEnd(8)} ${c.customers.join(', ') || '(no customer)'}${when ? `; ${when}` : ''}`,
    );
    lines.push(`       gate: ${gateText(c.gate)}${c.approvedBy ? `; approved by ${c.approvedBy}` : ''}`);
    if (c.reason && c.state !== 'pending')
      lines.push(`       ${c.state === 'failed' ? 'failed' : 'decided'}: ${c.reason}`);
  });
  if (s.gate) {
    lines.push(`  gate of ${r.cohorts[r.current].name} now: ${s.gate.outcome}`);
    for (const c of s.gate.checks)
      lines.push(`    ${c.outcome === 'pass' ? '✓' : c.outcome === 'fail' ? '✗' : '…'} ${c.condition}: ${c.detail}`);
  }
  return lines.join('\n');
}

/** `rsync rollout pause` and `resume`: the state changed (logged), then the status as each command shows it. */
export async function pauseOrResumeRollout(
  args: { name: string },
  flags: { env?: string; path: string },
  pause: boolean,
  json: boolean,
  log: (text: string) => void,
): Promise<{ version: 1; rollout: RolloutJson }> {
  const { db, env, ctx } = await openRollout(flags, json);
  try {
    await pauseRollout(ctx, env, args.name, pause);
    const [status] = await rolloutStatus(ctx, env, args.name);
    if (!json) log(renderRollout(status));
    return { version: 1, rollout: rolloutJson(status) };
  } finally {
    await db.close();
  }
}
