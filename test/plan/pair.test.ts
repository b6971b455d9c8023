import { describe, expect, it } from 'vitest';
import { inScope, pairByAddress } from '../../engine/plan/pair.js';

const r = (address: string, customer: string | null, tag = '') => ({ address, customer, tag });

describe('pairByAddress', () => {
  it('pairs only-new as create, only-old as delete and both as diff: new order first, then the deletes', () => {
    const wanted = [r('n/flow/b', 'n', 'new'), r('n/flow/a', 'n', 'new'), r('workspace/policy/p', null, 'new')];
    const had = [r('n/flow/c', 'n', 'old'), r('n/flow/a', 'n', 'old'), r('n/flow/d', 'n', 'old')];
    const pairs = pairByAddress(wanted, had, null);
    expect(pairs.map((p) => `${p.action} ${p.address}`)).toEqual([
      'create n/flow/b',
      'diff n/flow/a',
      'create workspace/policy/p',
      'delete n/flow/c',
      'delete n/flow/d',
    ]);
    const diff = pairs[1];
    expect(diff.action === 'diff' && [diff.want.tag, diff.have.tag]).toEqual(['new', 'old']);
  });

  it('keeps to the scope, with partner-wide resources always in it', () => {
    const wanted = [r('n/flow/a', 'n'), r('s/flow/a', 's'), r('workspace/sla/gold', null)];
    const had = [r('s/flow/gone', 's'), r('n/flow/gone', 'n'), r('workspace/sla/old', null)];
    const pairs = pairByAddress(wanted, had, new Set(['n']));
    expect(pairs.map((p) => `${p.action} ${p.address}`)).toEqual([
      'create n/flow/a',
      'create workspace/sla/gold',
      'delete n/flow/gone',
      'delete workspace/sla/old',
    ]);
  });

  it('gives nothing for two empty sides; partner-wide resources are in every scope', () => {
    expect(pairByAddress([], [], null)).toEqual([]);
    expect(inScope(null, 'x')).toBe(true);
    expect(inScope(new Set(['y']), 'x')).toBe(false);
    expect(inScope(new Set(['y']), null)).toBe(true);
  });
});
