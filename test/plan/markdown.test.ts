/**
 * The pull request comment of a large change (issue 21): the plan's and the diff's Markdown stay within GitHub's
 * 65,536-character limit on a comment, say how many changes they list of how many, and count those left out per
 * customer — it used to be 100 K characters listing 500 of 2,702 changes without a word; and a template's mapping
 * hunk, the same in every flow made from the template, is shown once with the flows it applies to instead of
 * under every flow. Plans and diffs are built as values here: the renderings are pure functions of them.
 */
import { describe, expect, it } from 'vitest';
import { renderDiffMarkdown } from '../../engine/diff/render.js';
import type { ResourceChange, WorkspaceDiff } from '../../engine/diff/types.js';
import { COMMENT_LIMIT } from '../../engine/plan/markdown.js';
import { renderPlanMarkdown } from '../../engine/plan/render.js';
import type { Change, Plan } from '../../engine/plan/types.js';

/** A template's new mapping version: 40 lines of diff, the same text in every flow that uses the template. */
const HUNK = [
  '@@ -1,38 +1,40 @@',
  ...Array.from({ length: 38 }, (_, i) => ` line ${i}: $sum(line_items.(price * quantity)) ~> $round(2) /* ${i} */`),
  '+ "taxLines": tax_lines.{ "rate": rate, "amount": $string(price) }, /* the template change */',
  '- "taxLines": [], /* before */',
];
const MARK = 'the template change';

function planChange(customer: string, flow: number, hunk = HUNK): Change {
  return {
    address: `${customer}/flow/flow-${flow}`,
    customer,
    kind: 'flow',
    name: `flow-${flow}`,
    action: 'update',
    reason: 'mapping changed, from template shopify-orders-to-erp@3',
    fromRevision: 1,
    beforeHash: 'a',
    afterHash: 'b',
    fields: [{ path: 'template', before: 'shopify-orders-to-erp@2', after: 'shopify-orders-to-erp@3' }],
    mappingDiff: hunk,
    template: 'shopify-orders-to-erp@3',
  };
}

function planOf(changes: Change[]): Plan {
  const byCustomer: Plan['summary']['byCustomer'] = {};
  for (const c of changes) {
    const k = c.customer ?? '(partner-wide)';
    byCustomer[k] ??= { create: 0, update: 0, delete: 0 };
    byCustomer[k][c.action]++;
  }
  return {
    version: 2,
    format: 2,
    env: 'staging',
    ref: 'main',
    commit: 'abcdef0123456789',
    customers: null,
    branding: { productName: 'Acme Connect', partner: 'Acme' },
    summary: {
      create: 0,
      update: changes.length,
      delete: 0,
      unchanged: 0,
      drift: 0,
      byCustomer,
      byTemplate: { 'shopify-orders-to-erp@3': { customers: Object.keys(byCustomer).length, flows: changes.length } },
    },
    changes,
    drift: [],
    empty: changes.length === 0,
  } as unknown as Plan;
}

/** 2,702 changes: 300 customers × 9 flows from one template, and 2 of a customer with its own mapping. */
function largeChanges(): Change[] {
  const changes: Change[] = [];
  for (let c = 0; c < 300; c++)
    for (let f = 0; f < 9; f++) changes.push(planChange(`customer-${String(c).padStart(3, '0')}`, f));
  changes.push(planChange('zz-own', 1, ['@@ -1 +1 @@', '- "a": 1', '+ "a": 2 /* own */']));
  changes.push(planChange('zz-own', 2, ['@@ -1 +1 @@', '- "b": 1', '+ "b": 2 /* own too */']));
  return changes;
}

const count = (text: string, part: string) => text.split(part).length - 1;

/** The note's table of what was left out: per customer, create + update + delete. */
function leftOut(md: string): { listed: number; total: number; byCustomer: Map<string, number> } {
  const m = /it lists ([\d,]+) of ([\d,]+) changes/.exec(md);
  expect(m, 'the note says how many were listed').not.toBeNull();
  const table = md.slice(md.indexOf('Not listed, by customer'));
  const byCustomer = new Map<string, number>();
  for (const row of table.matchAll(/^\| (.+?) \| (\d+) \| (\d+) \| (\d+) \|$/gm))
    byCustomer.set(row[1], Number(row[2]) + Number(row[3]) + Number(row[4]));
  const n = (s: string) => Number(s.replace(/,/g, ''));
  return { listed: n(m![1]), total: n(m![2]), byCustomer };
}

describe('plan Markdown for a large change', () => {
  const changes = largeChanges();
  const md = renderPlanMarkdown(planOf(changes));

  it('fits a pull request comment, and says what it left out, per customer', () => {
    expect(md.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(md.length).toBeGreaterThan(COMMENT_LIMIT * 0.8); // it uses the room it has
    const { listed, total, byCustomer } = leftOut(md);
    expect(total).toBe(2_702);
    expect(listed).toBeGreaterThan(400); // one line a flow (its diff shared): about 130 characters each
    expect(listed).toBeLessThan(total);
    // Every change is either listed or counted, and the per-customer counts add up to what was left out.
    const counted = [...byCustomer.values()].reduce((a, b) => a + b, 0);
    expect(counted).toBe(total - listed);
    expect(count(md, '- `~` **flow**')).toBe(listed);
    // The customers left out are named (50 of them), the rest summed in one row.
    expect([...byCustomer.keys()].some((k) => /^… \d+ more customers$/.test(k))).toBe(true);
    expect(byCustomer.get('customer-299')).toBeUndefined(); // past the 50 named: in the summed row
    expect([...byCustomer].find(([k]) => k.startsWith('customer-'))?.[1]).toBeGreaterThan(0);
    expect(md).toContain('`rsync plan --format json` (or `--out plan.json`) has every change');
    // Nothing after the note was cut: the footer is there.
    expect(md.trimEnd().endsWith('<sub>Acme · planned by Acme Connect</sub>')).toBe(true);
  });

  it("shows the template's hunk once, with the flows it applies to", () => {
    expect(count(md, MARK)).toBe(1);
    expect(md).toContain('- **Shared change 1**, in 2700 flows: `customer-000/flow/flow-0`');
    expect(md).toContain('and 2680 more');
    // The flows' field changes are the same too: the whole diff is shared, each flow is one line.
    expect(count(md, '(shared change 1, above)')).toBe(leftOut(md).listed);
    expect(count(md, '  + template: "shopify-orders-to-erp@3"')).toBe(1);
  });

  it('a plan that fits is listed whole, with no note; a shared hunk keeps each flow its own fields', () => {
    const own = planChange('northwind', 2);
    own.fields = [{ path: 'schedule.cron', before: '0 * * * *', after: '30 * * * *' }];
    const small = [
      planChange('northwind', 1),
      own,
      planChange('contoso', 1, ['@@ -1 +1 @@', '- "x": 1', '+ "x": 2 /* contoso only */']),
    ];
    const out = renderPlanMarkdown(planOf(small));
    expect(out).not.toContain('[!NOTE]');
    expect(count(out, '- `~` **flow**')).toBe(3);
    expect(count(out, MARK)).toBe(1);
    expect(out).toContain('- **Shared change 1**, in 2 flows: `northwind/flow/flow-1`, `northwind/flow/flow-2`');
    // The hunk is shared, the fields are not: each flow keeps its own under it.
    expect(count(out, '(mapping: shared change 1, above)')).toBe(2);
    expect(count(out, '  + schedule.cron: "30 * * * *"')).toBe(1);
    expect(count(out, '  + template: "shopify-orders-to-erp@3"')).toBe(2); // northwind's flow-1, contoso's
    const contoso = out.slice(out.indexOf('<b>contoso</b>'));
    expect(contoso.indexOf('contoso only')).toBeGreaterThan(contoso.indexOf('**flow** `flow-1`'));
    expect(count(out, 'contoso only')).toBe(1);
  });
});

describe('diff Markdown for a large change', () => {
  it('fits a pull request comment, names the template hunk once, and counts what it left out', () => {
    const changes: ResourceChange[] = largeChanges().map((c) => ({
      address: c.address,
      customer: c.customer,
      kind: c.kind,
      name: c.name,
      action: c.action,
      reason: c.reason,
      fields: c.fields,
      mapping: {
        before: 'templates/shopify-orders-to-erp/2/mappings/order.jsonata',
        after: 'templates/shopify-orders-to-erp/3/mappings/order.jsonata',
        diff: c.mappingDiff!,
      },
      template: { before: 'shopify-orders-to-erp@2', after: 'shopify-orders-to-erp@3' },
      source: null,
    }));
    const plan = planOf(largeChanges());
    const diff = {
      version: 1,
      workspace: '/w',
      base: { label: 'main', commit: 'abc1234', workingTree: false, valid: true, errors: [] },
      head: { label: 'feature', commit: 'def5678', workingTree: false, valid: true, errors: [] },
      env: null,
      customers: null,
      branding: plan.branding,
      summary: { ...plan.summary, drift: undefined },
      changes,
      settings: [],
      templates: [],
      moves: [],
      empty: false,
    } as unknown as WorkspaceDiff;
    const md = renderDiffMarkdown(diff);
    expect(md.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(count(md, MARK)).toBe(1);
    const { listed, total, byCustomer } = leftOut(md);
    expect(total).toBe(2_702);
    expect([...byCustomer.values()].reduce((a, b) => a + b, 0)).toBe(total - listed);
    expect(md).toContain('`rsync diff --format json` has every change');
  });
});
