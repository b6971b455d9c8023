/**
 * Replaying dead letters: the kept source record runs through the pipeline again on the revision asked for — by
 * default the flow's current one, so a mapping fixed in Git and applied repairs the old failures — and lands
 * exactly once (the ledger). A letter that fails again stays open with the new error. Each flow's replay is one
 * transaction with its apply-log entry, saying who did it.
 */
import type pg from 'pg';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { appendLog } from '../state/apply-log.js';
import { type DeadLetterFilter, deadLettersToReplay, failedAgain, resolveReplayed } from '../state/dead-letters.js';
import { type FlowDef, loadFlowRevision } from './flows.js';
import { Mapper } from './mapping/mapper.js';
import { pipeline, type RuntimeContext, workerId } from './page-loop.js';
import { finishRun, processPage, startRun } from './pipeline.js';
import { withClient } from '../state/tx.js';

export interface ReplayOutcome {
  id: number;
  address: string;
  revision: number;
  outcome: 'written' | 'unchanged' | 'filtered' | 'dead';
  error?: string;
}

/**
 * Replay dead letters (each on `revision`, default the flow's current one); one apply-log entry per flow, with the
 * reason when one is given (the console asks for it).
 */
export async function replayDeadLetters(
  rt: RuntimeContext,
  f: DeadLetterFilter,
  actor: string,
  revision?: number,
  reason?: string,
): Promise<ReplayOutcome[]> {
  const db = rt.db;
  const letters = await deadLettersToReplay(db, f);
  const byFlow = new Map<string, typeof letters>();
  for (const l of letters) byFlow.set(l.address, [...(byFlow.get(l.address) ?? []), l]);
  const out: ReplayOutcome[] = [];
  await withClient(db, async (client) => {
    for (const [address, list] of byFlow) {
      const flow: FlowDef | undefined = await loadFlowRevision(db, f.env, address, revision);
      if (!flow)
        throw new RsyncError(
          `flow ${address} has no ${revision ? `revision ${revision}` : 'deployed revision'} in ${f.env}`,
          ExitCode.NO_INPUT,
          'See `rsync history --address` for its revisions.',
        );
      const run = await startRun(db, flow, 'replay', rt.worker);
      try {
        await processPage(
          pipeline(rt, flow),
          run,
          client,
          { records: list.map((l) => l.replay), deadLetter: false },
          async (tx, finals) => {
            const mine: ReplayOutcome[] = [];
            for (let i = 0; i < list.length; i++) {
              const fin = finals[i];
              const o: ReplayOutcome = {
                id: list[i].id,
                address,
                revision: flow.revision,
                outcome: fin.outcome,
                ...(fin.outcome === 'dead' ? { error: fin.error } : {}),
              };
              mine.push(o);
              if (fin.outcome === 'dead')
                await failedAgain(tx, o.id, { error: fin.error, stage: fin.stage, revision: flow.revision });
              else
                await resolveReplayed(tx, o.id, actor, { outcome: fin.outcome, revision: flow.revision, run: run.id });
            }
            await appendLog(tx, {
              env: f.env,
              action: 'dlq-replay',
              actor,
              detail: {
                address,
                revision: flow.revision,
                run: run.id,
                letters: list.map((l) => l.id),
                outcomes: mine.map((o) => ({ id: o.id, outcome: o.outcome })),
                ...(reason ? { reason } : {}),
              },
            });
            out.push(...mine);
          },
        );
      } catch (e) {
        await finishRun(db, run, 'failed', (e as Error).message);
        throw e;
      }
      await finishRun(db, run, 'succeeded');
    }
  });
  return out;
}

/**
 * Replay from a process that is no worker (`rsync dlq replay`): mapping inline (no threads for a handful of
 * records), recorded as a `cli:` worker's runs.
 */
export async function replayHere(
  pool: pg.Pool,
  f: DeadLetterFilter,
  actor: string,
  opts: { revision?: number; sandbox: boolean; log?: (line: string) => void },
): Promise<ReplayOutcome[]> {
  const mapper = new Mapper(0);
  try {
    return await replayDeadLetters(
      { db: pool, mapper, worker: `cli:${workerId()}`, sandbox: opts.sandbox, log: opts.log },
      f,
      actor,
      opts.revision,
    );
  } finally {
    await mapper.close();
  }
}
