/**
 * The pieces of Markdown that the plan's pull-request comment (plan/render.ts) and the workspace diff's
 * (diff/render.ts) share, so that both look the same to a reviewer: the per-customer table, a customer's
 * collapsible section, and an update's fields as a `diff` block.
 */
import type { Action, FieldChange, PlanSummary } from './types.js';

export const SYMBOL: Record<Action, string> = { create: '+', update: '~', delete: '-' };
/** Changes listed one by one, at the most; the others are counted. */
export const MAX_LISTED = 500;

/** A value as one short line of JSON. */
export function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

export function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

/** The counts per customer as a table, the first 100 customers by name. */
export function customerTable(byCustomer: PlanSummary['byCustomer']): string[] {
  const out = ['', '| customer | create | update | delete |', '|---|---:|---:|---:|'];
  for (const [c, n] of Object.entries(byCustomer)
    .sort((x, y) => (x[0] < y[0] ? -1 : 1))
    .slice(0, 100)) {
    out.push(`| ${mdEscape(c)} | ${n.create} | ${n.update} | ${n.delete} |`);
  }
  return out;
}

/** The opening of a customer's collapsible section (closed by `'', '</details>'`). */
function customerDetails(customer: string, changes: number): string[] {
  return [
    '',
    `<details><summary><b>${mdEscape(customer)}</b>: ${changes} change${changes === 1 ? '' : 's'}</summary>`,
    '',
  ];
}

/**
 * An update as an indented `diff` block: its fields before and after, then the lines of its JSONata's unified
 * diff (under a `@@ header @@` line when one is given; hunk headers as they are).
 */
export function updateBlock(
  fields: readonly FieldChange[],
  mapping?: { header?: string; diff: readonly string[] },
): string[] {
  const out = ['', '  ```diff'];
  for (const f of fields) {
    if (f.before !== undefined) out.push(`  - ${f.path}: ${show(f.before)}`);
    if (f.after !== undefined) out.push(`  + ${f.path}: ${show(f.after)}`);
  }
  if (mapping?.header !== undefined) out.push(`  @@ ${mapping.header} @@`);
  for (const l of mapping?.diff ?? [])
    out.push(`  ${l.startsWith('@@') ? l : l[0] === ' ' ? `  ${l.slice(1)}` : `${l[0]} ${l.slice(1)}`}`);
  out.push('  ```', '');
  return out;
}

/** Each customer's changes in a collapsible section, MAX_LISTED changes at the most in all; `lines` renders one. */
export function customerSections<C>(byCustomer: Map<string, C[]>, lines: (c: C) => string[]): string[] {
  const out: string[] = [];
  let listed = 0;
  for (const [customer, changes] of byCustomer) {
    if (listed >= MAX_LISTED) break;
    out.push(...customerDetails(customer, changes.length));
    for (const c of changes) {
      if (listed++ >= MAX_LISTED) break;
      out.push(...lines(c));
    }
    out.push('', '</details>');
  }
  return out;
}
