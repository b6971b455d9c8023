/**
 * Who runs a CLI command. With RSYNC_TOKEN set, the token's identity (engine/auth/tokens.ts): it must be valid, its
 * role must allow what the command does, and the audit log records it. Without, the local user (currentActor): whoever
 * holds the database's credentials can do anything through it anyway, so the CLI's local use stays unrestricted, and
 * tokens are what a shared console, a CI job or a support desk is given.
 *
 * What each command needs (engine/auth/tokens.ts `can`):
 * - read: plan (its author, createdBy, is the token's identity: an approval rule may keep it from approving);
 * - operate: run, backfill, dlq replay, dlq discard — and apply and promote: they carry out what Git already says
 *   (reviewed in a pull request), and production's own gate is its approvals, not a stronger role;
 * - approve: approve;
 * - admin: token create, list, revoke.
 */
import { type Action, actorOf, authenticate, can, type Identity } from '../engine/auth/tokens.js';
import { ExitCode, RsyncError } from '../engine/diagnostics/errors.js';
import type { Database } from '../engine/state/db.js';
import { currentActor } from '../engine/workspace/index.js';

export interface CliIdentity {
  actor: string;
  /** Null for the local user. */
  identity: Identity | null;
}

export async function cliIdentity(db: Database, root: string, action: Action): Promise<CliIdentity> {
  const token = process.env.RSYNC_TOKEN;
  if (!token) return { actor: await currentActor(root), identity: null };
  const who = await authenticate(db.pool, token);
  if (!who)
    throw new RsyncError(
      'RSYNC_TOKEN is not a valid token: unknown, revoked or expired',
      ExitCode.FAILED,
      'Ask an admin for a new one (rsync token create), or unset RSYNC_TOKEN to act as the local user.',
    );
  if (!can(who, action))
    throw new RsyncError(
      `The ${who.role} role may not do this (it needs ${action === 'admin' ? 'the admin role' : `the right to ${action}`})`,
      ExitCode.REFUSED,
      'Use a token with a role that may, or ask someone who has one.',
    );
  return { actor: actorOf(who), identity: who };
}
