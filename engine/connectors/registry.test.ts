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

describe('what each connector that writes guarantees', () => {
  it('is declared by every plugin that opens a connection (README, "What each target guarantees")', async () => {
    const { PLUGINS } = await import('./plugins.js');
    const undeclared = PLUGINS.filter((p) => p.open && !p.spec.writes && p.spec.name !== 'webhook').map(
      (p) => p.spec.name,
    );
    expect(undeclared).toEqual([]);
    const readme = (await import('node:fs')).readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const p of PLUGINS.filter((x) => x.spec.writes))
      expect(readme, `README lists ${p.spec.name}'s write guarantee`).toMatch(
        new RegExp(`\\| \`${p.spec.name}\` \\| ${p.spec.writes!.effect} \\|`),
      );
  });
});
