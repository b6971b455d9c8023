/**
 * What the pipeline keeps of a page for the data-impact plan (`rsync plan --impact`): up to SAMPLES_PER_PAGE of its
 * source records, spread over the page and ending with its last, PII masked by the flow's policy as a dead letter's
 * payload is, stored in the page's transaction (state/samples.ts keeps the last SAMPLE_CAP of each flow).
 */
import type pg from 'pg';
import { addSamples } from '../state/samples.js';
import { parseJsonLossless } from '../util/json.js';
import { storable } from '../util/text.js';
import type { FlowDef } from './flows.js';
import { maskPii, piiNames } from './mask.js';

/** The most records a page adds: a page of 500 costs one statement of 100 small rows, not 500. */
export const SAMPLES_PER_PAGE = 100;

/** Indexes of up to `k` of `n` records, evenly spread, the last one included. */
export function spread(n: number, k = SAMPLES_PER_PAGE): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => n - 1 - Math.floor(((k - 1 - i) * (n - 1)) / (k - 1)));
}

/** Store a sample of a page's source records (`json`: each is a JSON text) in `tx`, the page's transaction. */
export async function samplePage(
  tx: Pick<pg.PoolClient, 'query'>,
  flow: Pick<FlowDef, 'env' | 'address' | 'revision' | 'pii'>,
  records: readonly unknown[],
  json?: boolean,
): Promise<void> {
  const names = piiNames(flow.pii);
  const picked: unknown[] = [];
  for (const i of spread(records.length)) {
    let r = records[i];
    if (json) {
      try {
        r = parseJsonLossless(r as string);
      } catch {
        continue; // not JSON: dead-lettered by the mapping stage, nothing to sample
      }
    }
    if (r === null || typeof r !== 'object' || typeof (r as { __error?: unknown }).__error === 'string') continue;
    picked.push(storable(maskPii(r, names)));
  }
  await addSamples(tx, flow, picked);
}
