/**
 * The plan file: `rsync plan --out` writes the plan value as JSON, `rsync apply plan.json` reads it back. Reading
 * refuses, with a message that says how to get a good one, a file that cannot be read, is not JSON, is not a
 * plan, or is a plan of another format.
 */
import { writeFileSync } from 'node:fs';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { MAX_PLAN_FILE_BYTES, readTextFile } from '../util/files.js';
import { hashOf } from '../util/hash.js';
import { PLAN_FORMAT, type Plan } from './types.js';

const REMAKE = 'Make one with `rsync plan --out plan.json`.';

/**
 * A plan's identity for approvals: sha256 of its canonical JSON (util/hash.ts), the same for the value in memory, its
 * file and the JSON kept in the database. Any edit of the file makes another plan, which needs its own approvals.
 */
export const planHash = (plan: Plan): string => hashOf(plan);

export function writePlanFile(file: string, plan: Plan): void {
  writeFileSync(file, `${JSON.stringify(plan, null, 2)}\n`);
}

export function readPlanFile(file: string): Plan {
  let plan: Plan;
  // Bounded: a folder, a device or a file over 256 MiB is refused by name (exit 66), not read.
  const text = readTextFile(file, { maxBytes: MAX_PLAN_FILE_BYTES, label: `the plan ${file}`, hint: REMAKE });
  if (text === undefined)
    throw new RsyncError(`Cannot read the plan ${file}: ENOENT: no such file or directory.`, ExitCode.NO_INPUT, REMAKE);
  try {
    plan = JSON.parse(text) as Plan;
  } catch (e) {
    throw new RsyncError(`Cannot read the plan ${file}: ${(e as Error).message}`, ExitCode.NO_INPUT, REMAKE);
  }
  if (typeof plan !== 'object' || plan === null || !Array.isArray(plan.changes) || typeof plan.env !== 'string') {
    throw new RsyncError(`${file} is not an rsync plan.`, ExitCode.NO_INPUT, REMAKE);
  }
  assertPlanFormat(plan);
  return plan;
}

/** Refuse a plan of another format (made by another version of rsync): its fields may mean something else. */
export function assertPlanFormat(plan: Plan): void {
  // A plan file written before `version` joined `format` (issue 21) has only `format`; both must say this format.
  const format = plan.version ?? plan.format;
  if (format !== PLAN_FORMAT || (plan.format !== undefined && plan.format !== format)) {
    throw new RsyncError(
      `This plan has format ${String(plan.format ?? format)}; this rsync applies format ${PLAN_FORMAT}.`,
      ExitCode.NO_INPUT,
      'Make the plan again with this version of rsync.',
    );
  }
}
