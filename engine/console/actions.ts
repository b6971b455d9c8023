/**
 * What an operator does to dead letters from the console: replay, edit and retry, discard, assign, resolve — one
 * letter or many, with a dry run that says what would happen first. Each action is one transaction with its entry
 * in the apply log (the audit), naming the actor and the reason; replays and discards go through the same engine
 * calls as `rsync dlq replay` and `rsync dlq discard`.
 */
import type pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { appendLog } from '../state/apply-log.js';
import { type DeadLetter, discardDeadLetters, listDeadLetters } from '../state/dead-letters.js';
import { withTransaction } from '../state/tx.js';
import { loadFlows } from '../runtime/flows.js';
import { maskPii, piiNames } from '../runtime/mask.js';
import type { RuntimeContext } from '../runtime/page-loop.js';
import { type ReplayOutcome, replayDeadLetters } from '../runtime/replay.js';
import type { ActionResultView } from './types.js';

export type LetterAction = 'replay' | 'discard' | 'resolve' | 'assign';
export const LETTER_ACTIONS: readonly LetterAction[] = ['replay', 'discard', 'resolve', 'assign'];

export interface ActionInput {
  action: LetterAction;
  ids: number[];
  reason?: string;
  /** assign: to whom. */
  to?: string;
  /** replay: on this revision (default the flow's current one). */
  revision?: number;
}

export type ActionResult = ActionResultView & { action: LetterAction; replayed?: ReplayOutcome[] };

/** A usage error of the API (400): what is wrong and how to send it right. */
export class BadRequest extends RsyncError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.USAGE, hint);
  }
}

/** Act on `letters` (already loaded and in the actor's scope), or say what it would do when `dryRun`. */
export async function actOnLetters(
  rt: RuntimeContext,
  env: string,
  letters: DeadLetter[],
  input: ActionInput,
  actor: string,
  dryRun: boolean,
): Promise<ActionResult> {
  if (!LETTER_ACTIONS.includes(input.action))
    throw new BadRequest(`unknown action "${input.action}"`, `The actions are ${LETTER_ACTIONS.join(', ')}.`);
  if ((input.action === 'discard' || input.action === 'resolve') && !input.reason?.trim())
    throw new BadRequest(
      `${input.action} needs a reason`,
      'Say why in "reason": it is kept with the letter and in the audit log.',
    );
  if (input.action === 'assign' && !input.to?.trim())
    throw new BadRequest('assign needs a name', 'Send "to": the name of whoever takes the letters.');
  const wanted = input.action === 'assign' ? letters : letters.filter((l) => l.status === 'open');
  const skipped = letters
    .filter((l) => !wanted.includes(l))
    .map((l) => ({ id: l.id, why: `it is ${l.status}, not open` }));
  const result: ActionResult = {
    action: input.action,
    dryRun,
    letters: wanted.map((l) => ({ id: l.id, address: l.address, status: l.status })),
    skipped,
  };
  if (dryRun || !wanted.length) return result;
  const ids = wanted.map((l) => l.id);
  const reason = input.reason?.trim() || null;
  if (input.action === 'replay')
    result.replayed = await replayDeadLetters(rt, { env, ids }, actor, input.revision, reason ?? undefined);
  else if (input.action === 'discard') await discardDeadLetters(rt.db, { env, ids }, actor, reason ?? undefined);
  else
    await withTransaction(rt.db, async (tx) => {
      if (input.action === 'assign')
        await tx.query('UPDATE rsync.dead_letters SET assignee = $2 WHERE id = ANY($1)', [ids, input.to!.trim()]);
      else
        await tx.query(
          `UPDATE rsync.dead_letters SET status = 'resolved', resolved_at = now(), resolved_by = $2,
                  resolution = jsonb_build_object('reason', $3::text), replay = NULL, edited = NULL
            WHERE id = ANY($1) AND status = 'open'`,
          [ids, actor, reason],
        );
      await appendLog(tx, {
        env,
        action: `dlq-${input.action}`,
        actor,
        detail: { letters: ids, reason, ...(input.action === 'assign' ? { to: input.to!.trim() } : {}) },
      });
    });
  return result;
}

/**
 * Edit a dead letter's record and retry it. The edit is JSON (an object), typed by the operator over the masked
 * payload: a field still showing the mask ("***") keeps the original's value, so masked PII is sent as it was read,
 * never as asterisks. The edit is kept beside the original (the original payload and record stay as they were), and
 * the retry sends the edit. One audit entry for the edit (with the fields changed, never their values), then the
 * replay's own.
 */
export async function editAndRetry(
  rt: RuntimeContext,
  env: string,
  letter: DeadLetter,
  text: string,
  actor: string,
  reason: string | undefined,
  retry: boolean,
): Promise<{ changed: string[]; replayed?: ReplayOutcome[] }> {
  if (letter.status !== 'open') throw new BadRequest(`dead letter ${letter.id} is ${letter.status}, not open`);
  let edited: unknown;
  try {
    edited = JSON.parse(text);
  } catch (e) {
    throw new BadRequest(
      `the edited payload is not JSON: ${(e as Error).message}`,
      'Send the record as a JSON object.',
    );
  }
  if (edited === null || typeof edited !== 'object' || Array.isArray(edited))
    throw new BadRequest('the edited payload must be a JSON object (one record)', 'Send the record as a JSON object.');
  const { rows } = await rt.db.query<{ replay: unknown; edited: unknown }>(
    'SELECT replay, edited FROM rsync.dead_letters WHERE id = $1',
    [letter.id],
  );
  const original = rows[0]?.edited ?? rows[0]?.replay;
  if (original === undefined || original === null)
    throw new BadRequest(`dead letter ${letter.id} kept no record to retry`);
  const record = unmask(edited, original);
  const flow = (await loadFlows(rt.db, env)).get(letter.address);
  const shown = maskPii(record, piiNames(flow?.pii ?? []));
  const changed = changedPaths(letter.payload, edited);
  await withTransaction(rt.db, async (tx) => {
    await tx.query(
      'UPDATE rsync.dead_letters SET edited = $2, edited_shown = $3, edited_at = now(), edited_by = $4 WHERE id = $1',
      [letter.id, JSON.stringify(record), JSON.stringify(shown), actor],
    );
    await appendLog(tx, {
      env,
      action: 'dlq-edit',
      actor,
      detail: { letters: [letter.id], address: letter.address, fields: changed, reason: reason ?? null },
    });
  });
  if (!retry) return { changed };
  const replayed = await replayDeadLetters(rt, { env, ids: [letter.id] }, actor, undefined, reason ?? 'edit and retry');
  return { changed, replayed };
}

const MASK = '***';

/** The edit with every field that still shows the mask given the original's value at the same place. */
export function unmask(edited: unknown, original: unknown): unknown {
  if (edited === MASK) return original === undefined ? edited : original;
  if (Array.isArray(edited)) return edited.map((v, i) => unmask(v, Array.isArray(original) ? original[i] : undefined));
  if (edited !== null && typeof edited === 'object') {
    const o = original !== null && typeof original === 'object' ? (original as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(edited).map(([k, v]) => [k, unmask(v, o[k])]));
  }
  return edited;
}

/** The dotted paths whose values differ between two records (for the audit: which fields, not their values). */
export function changedPaths(a: unknown, b: unknown, at = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b))
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [at || '(record)'];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => changedPaths(a[k], b[k], at ? `${at}.${k}` : k));
}

/** The letters with these ids (any status), of the environment. */
export const lettersById = (db: pg.Pool, env: string, ids: number[]) =>
  ids.length ? listDeadLetters(db, { env, ids, status: 'all', limit: ids.length }) : Promise.resolve([]);
