/** The registry's lookups by connector: a connector that receives no webhooks has no receiver and no signer. */
import { describe, expect, it } from 'vitest';
import { receiverFor, signFor } from './registry.js';
import { ctx, SECRET, wooOrder } from './testing.js';

describe('receiverFor and signFor', () => {
  it('has no receiver, and no signer, for a connector that receives no webhooks', () => {
    expect(receiverFor('netsuite', ctx({}))).toBeUndefined();
    expect(() => signFor('netsuite', SECRET, wooOrder)).toThrow(TypeError);
    expect(() => signFor('square', SECRET, wooOrder)).toThrow(/notificationUrl/);
  });
});
