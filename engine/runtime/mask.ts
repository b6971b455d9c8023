/**
 * PII masking for what rsync keeps and shows of a record (dead letters, logs). A policy names PII fields in
 * canonical terms (`customer.email`, `shippingAddress`); a dead letter holds the *source* record, whose fields
 * are the vendor's (`email`, `customer.email`, `shipping_address`). So a field is masked when its name, with case
 * and underscores ignored, is the last segment of a PII path: `customer.email` masks every `email`, and
 * `shippingAddress` every `shipping_address` object, at any depth. Over-masking is the safe side.
 */

const norm = (s: string) => s.replace(/[_\-\s]/g, '').toLowerCase();

export function piiNames(paths: readonly string[]): Set<string> {
  return new Set(paths.map((p) => norm(p.split('.').pop() ?? p)).filter(Boolean));
}

/** A copy of `value` with every PII field's value replaced by "***" (objects and arrays wholly). */
export function maskPii(value: unknown, names: Set<string>): unknown {
  if (!names.size || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskPii(v, names));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = names.has(norm(k)) && v !== null && v !== '' ? '***' : maskPii(v, names);
  }
  return out;
}
