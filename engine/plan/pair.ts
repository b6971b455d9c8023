/**
 * Pairing by address, the first step of every comparison (the planner's desired against deployed, diff's base
 * against head): before any diff, decide what each address is. Only on the new side: create; only on the old
 * side: delete; on both: diff (which may find nothing changed).
 */

/** What pairing needs of a resource: its address, and its customer for scoping (null: partner-wide). */
export interface Addressed {
  address: string;
  customer: string | null;
}

export type Pair<New, Old> =
  | { action: 'create'; address: string; want: New }
  | { action: 'delete'; address: string; have: Old }
  | { action: 'diff'; address: string; want: New; have: Old };

/**
 * The pairs of `wanted` (the new side) and `had` (the old side) within `scope` (customers; null: all, and
 * partner-wide resources are always in scope). Pairs come in `wanted`'s order, then the deletes in `had`'s order.
 */
export function pairByAddress<New extends Addressed, Old extends Addressed>(
  wanted: readonly New[],
  had: readonly Old[],
  scope: ReadonlySet<string> | null,
): Pair<New, Old>[] {
  const hadByAddress = new Map(had.map((h) => [h.address, h]));
  const pairs: Pair<New, Old>[] = [];
  for (const want of wanted) {
    if (!inScope(scope, want.customer)) continue;
    const have = hadByAddress.get(want.address);
    pairs.push(
      have ? { action: 'diff', address: want.address, want, have } : { action: 'create', address: want.address, want },
    );
  }
  const wantedAddresses = new Set(wanted.map((w) => w.address));
  for (const have of had) {
    if (wantedAddresses.has(have.address) || !inScope(scope, have.customer)) continue;
    pairs.push({ action: 'delete', address: have.address, have });
  }
  return pairs;
}

export function inScope(scope: ReadonlySet<string> | null, customer: string | null): boolean {
  return !scope || customer === null || scope.has(customer);
}
