/**
 * `rsync explain mapping` through the built CLI, on broken-workspace cases made whole (test/helpers/broken.ts): the
 * lineage table in text (each output field, the input paths reaching it with their line:col, what they pass
 * through, the PII they carry by the using flow's policy, undecided reads marked) and as --json; a mapping named by
 * a template's flow; a name that is neither a mapping nor a flow, and a mapping that does not compile (exit 1, a
 * message and a hint, no stack trace).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../engine/diagnostics/errors.js';
import type { MappingExplanation } from '../../engine/mapping/explain.js';
import { materialise } from '../helpers/broken.js';
import { buildProblem, ROOT, runCli, show } from '../helpers/cli.js';

const MAPPING = 'integrations/northwind/mappings/order-for-tax.jsonata';
const rsync = (cwd: string, ...args: string[]) =>
  runCli(['explain', 'mapping', ...args], cwd, { actor: 'explain-test' });

describe('rsync explain mapping', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  let concatenation: string;
  let undecided: string;
  beforeAll(() => {
    const problem = buildProblem(['cli/commands/explain/mapping.ts']);
    if (problem) throw new Error(problem);
    concatenation = materialise('pii-through-concatenation');
    undecided = materialise('pii-lineage-undecided');
    dirs.push(concatenation, undecided);
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('prints the lineage table: output field ← input paths, where, through what, and the PII', async () => {
    const r = await rsync(concatenation, MAPPING);
    expect(r.status, show(r)).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(MAPPING);
    expect(lines[1]).toBe('  used by northwind/flow/orders-to-tax: policy tax-safe → avatax (PII forbidden there)');
    const row = (field: string) => lines.find((l) => l.startsWith(`${field} `))?.split(/\s{2,}/);
    expect(row('note')).toEqual(['note', 'email', '4:11', '&', 'customer.email']);
    const next = lines[lines.findIndex((l) => l.startsWith('note ')) + 1].trim().split(/\s{2,}/);
    expect(next).toEqual(['shipping_address.address1', '4:25', '&', 'shippingAddress']);
    expect(row('externalId')).toEqual(['externalId', 'id', '2:25', '$string()', '-']);
    expect(row('total')).toEqual(['total', 'total_price', '3:12', '-', '-']);
    expect(lines.at(-2)).toBe('3 output fields from 4 input paths: 2 PII reads, 0 undecided');
  });

  it('marks an undecided read, in text and in --json', async () => {
    const text = await rsync(undecided, MAPPING);
    expect(text.status, show(text)).toBe(0);
    const row = text.stdout.split('\n').find((l) => l.startsWith('contactValue '));
    expect(row?.split(/\s{2,}/)).toEqual([
      'contactValue',
      'customer.*',
      '4:19',
      '$lookup()',
      'customer.email, customer.phone',
      'undecided: $lookup with a key known only at run time',
    ]);

    const json = await rsync(undecided, MAPPING, '--json');
    expect(json.status, show(json)).toBe(0);
    expect(json.stderr).toBe('');
    const out = JSON.parse(json.stdout) as MappingExplanation;
    expect(out.file).toBe(MAPPING);
    expect(out.usedBy).toEqual([
      { flow: 'northwind/flow/orders-to-tax', policy: 'tax-safe', target: 'avatax', piiForbidden: true },
    ]);
    expect(out.fields.map((f) => f.field)).toEqual(['contactValue', 'externalId', 'lineValue', 'total']);
    const [contact] = out.fields;
    expect(contact).toMatchObject({ line: 4, column: 19 });
    expect(contact.sources).toEqual([
      {
        path: 'customer.*',
        start: expect.any(Number),
        end: expect.any(Number),
        line: 4,
        column: 19,
        via: ['$lookup()'],
        undecided: '$lookup with a key known only at run time',
        pii: ['customer.email', 'customer.phone'],
      },
    ]);
    expect(out.fields[2].sources.map((s) => [s.path, s.undecided, s.pii])).toEqual([['line_items.sku', undefined, []]]);
    expect(out.summary).toEqual({ fields: 4, sources: 4, pii: 0, undecided: 1 });
  });

  it('names a mapping by a flow, a template’s flow too, from a folder inside the workspace', async () => {
    const byFlow = await rsync(path.join(concatenation, 'integrations'), 'northwind/orders-to-tax', '--json');
    expect(byFlow.status, show(byFlow)).toBe(0);
    expect((JSON.parse(byFlow.stdout) as MappingExplanation).file).toBe(MAPPING);
    const template = await rsync(ROOT, 'contoso/orders-to-tax', '--json');
    expect(template.status, show(template)).toBe(0);
    const t = JSON.parse(template.stdout) as MappingExplanation;
    expect(t.file).toBe('templates/orders-to-tax-engine/1/mappings/woocommerce-order-for-tax.jsonata');
    expect(t.usedBy).toEqual([
      { flow: 'contoso/flow/orders-to-tax', policy: 'finance-grade', target: 'avalara', piiForbidden: true },
    ]);
    const city = t.fields.find((f) => f.field === 'shippingAddress.city');
    expect(city?.sources.map((s) => [s.path, s.pii])).toEqual([['shipping.city', []]]);
    expect(t.summary.pii).toBe(0);
  });

  it('refuses a name that is neither a mapping nor a flow, and a mapping that does not compile', async () => {
    const none = await rsync(concatenation, 'integrations/northwind/mappings/nope.jsonata');
    expect(none.status, show(none)).toBe(ExitCode.FAILED);
    expect(none.stderr).toContain('is neither a mapping file of the workspace nor a flow');
    expect(none.stderr).not.toMatch(/\n\s+at /);
    const near = await rsync(concatenation, 'mappings/order-for-tax.jsonata');
    expect(near.stderr).toContain(`Did you mean ${MAPPING}?`);

    writeFileSync(path.join(concatenation, 'integrations/northwind/mappings/broken.jsonata'), '{\n  "a": b &\n}\n');
    const broken = await rsync(concatenation, 'integrations/northwind/mappings/broken.jsonata', '--json');
    expect(broken.status, show(broken)).toBe(ExitCode.FAILED);
    const err = JSON.parse(broken.stdout).error;
    expect(err.message).toMatch(
      /^integrations\/northwind\/mappings\/broken\.jsonata:3:1: the mapping does not compile/,
    );
  });
});
