/**
 * Stripe's event types, as Stripe documents them: the part of the list about charges, refunds, disputes, payouts,
 * the balance and customers, not every type. Snapshot events carry the object in `data.object` (the receiver
 * refuses thin events). The catalogue's `events` (spec.ts) may only name topics in this list (registry.test.ts).
 *
 * Sources:
 * - https://docs.stripe.com/api/events/types ("Types of events": each type with what `data.object` is)
 * - https://docs.stripe.com/api/events ("a charge.succeeded event contains a charge")
 * - https://docs.stripe.com/api/refunds (Events: refund.created, refund.updated, refund.failed, charge.refund.updated)
 * - https://docs.stripe.com/changelog/acacia/2024-10-28/refund-webhook-update (refund.* for every refund;
 *   charge.refunded carries the charge, not the refund)
 */
export const documentedTopics: readonly string[] = [
  'balance.available',
  'charge.captured',
  'charge.dispute.closed',
  'charge.dispute.created',
  'charge.dispute.funds_reinstated',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.updated',
  'charge.failed',
  'charge.refund.updated',
  'charge.refunded',
  'charge.succeeded',
  'charge.updated',
  'customer.created',
  'customer.deleted',
  'customer.updated',
  'payout.canceled',
  'payout.created',
  'payout.failed',
  'payout.paid',
  'payout.reconciliation_completed',
  'payout.updated',
  'refund.created',
  'refund.failed',
  'refund.updated',
];
