/**
 * PII masking of what rsync keeps and shows: dead-letter payloads (by field name) and error messages (by the values
 * of the record's PII fields, which errors quote).
 */
import { describe, expect, it } from 'vitest';
import { maskPii, maskPiiText, piiNames, piiValues } from '../../engine/runtime/mask.js';

const names = piiNames(['customer.email', 'shippingAddress', 'customer.phone']);
const order = {
  id: 4711,
  email: 'dana@example.com',
  customer: { email: 'dana@example.com', phone: '+1 555 0100', first_name: 'Dana' },
  shipping_address: { address1: '1 Main St', city: 'Springfield', zip: '12345' },
  note: 'gift',
  line_items: [{ sku: 'A-1', price: '10.00' }],
};

describe('PII masking', () => {
  it('masks fields by the last segment of the policy path, at any depth', () => {
    const masked = maskPii(order, names) as typeof order;
    expect(masked.email).toBe('***');
    expect(masked.customer).toEqual({ email: '***', phone: '***', first_name: 'Dana' });
    expect(masked.shipping_address).toBe('***');
    expect(masked.line_items).toEqual(order.line_items);
  });

  it('also masks another field that repeats a PII value', () => {
    const masked = maskPii(
      { ...order, reference: 'dana@example.com', note: 'dana@example.com asked for gift wrap' },
      names,
    ) as Record<string, unknown>;
    expect(masked.reference).toBe('***');
    expect(masked.note).toBe('*** asked for gift wrap');
  });

  it('collects the values under PII fields, whole objects included, and nothing else', () => {
    expect([...piiValues(order, names)].sort()).toEqual([
      '+1 555 0100',
      '1 Main St',
      '12345',
      'Springfield',
      'dana@example.com',
    ]);
  });

  it('removes those values from an error text, longest first', () => {
    const text = 'Unable to cast value to a number: "dana@example.com" (ship to 1 Main St, Springfield 12345; sku A-1)';
    expect(maskPiiText(text, names, order)).toBe(
      'Unable to cast value to a number: "***" (ship to ***, *** ***; sku A-1)',
    );
  });

  it('leaves the text alone without a policy, and ignores values too short to mean anything', () => {
    expect(maskPiiText('dana@example.com', new Set(), order)).toBe('dana@example.com');
    expect(maskPiiText('qty 7 at 7', piiNames(['qty']), { qty: 7 })).toBe('qty 7 at 7');
  });
});
