/** The ledger's rule, on its own: the pipeline and `rsync test` share it (no database needed here). */

/**
 * The ledger's rule for one mapped record (promise 4): the same key with the same content hash is unchanged, a
 * record whose content rsync itself wrote into the source system is an echo (unchanged), anything else is written.
 * `rsync test` proves each flow's idempotency contract with this same rule (engine/mapping/test-runner.ts).
 */
export function ledgerDecision(
  known: { hash: string } | undefined,
  hash: string,
  echo: boolean,
): 'write' | 'ledger' | 'echo' {
  if (known?.hash === hash) return 'ledger';
  if (echo) return 'echo';
  return 'write';
}
