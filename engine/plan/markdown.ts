/**
 * The pieces of Markdown that the plan's pull-request comment (plan/render.ts) and the workspace diff's
 * (diff/render.ts) share, so that both look the same to a reviewer: the per-customer table, a customer's
 * collapsible section, and an update's fields as a `diff` block.
 */
import type { Action, FieldChange, PlanSummary } from './types.js';

export const SYMBOL: Record<Action, string> = { create: '+', update: '~', delete: '-' };
/** Changes the text rendering lists one by one, at the most; the others are counted (Markdown: COMMENT_LIMIT). */
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

type Counts = { create: number; update: number; delete: number };

/** Counts per customer as a table: the first `max` rows, the others summed in one last row. */
function countsTable(rows: [string, Counts][], max: number): string[] {
  const out = ['| customer | create | update | delete |', '|---|---:|---:|---:|'];
  for (const [c, n] of rows.slice(0, max)) out.push(`| ${mdEscape(c)} | ${n.create} | ${n.update} | ${n.delete} |`);
  if (rows.length > max) {
    const rest = rows
      .slice(max)
      .reduce(
        (a, [, n]) => ({ create: a.create + n.create, update: a.update + n.update, delete: a.delete + n.delete }),
        { create: 0, update: 0, delete: 0 },
      );
    out.push(`| … ${rows.length - max} more customers | ${rest.create} | ${rest.update} | ${rest.delete} |`);
  }
  return out;
}

/** The counts per customer as a table, the first 100 customers by name (the others summed). */
export function customerTable(byCustomer: PlanSummary['byCustomer']): string[] {
  return [
    '',
    ...countsTable(
      Object.entries(byCustomer).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
      100,
    ),
  ];
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

/** GitHub's limit on a pull request comment: a longer body is refused (65,536 characters). */
export const COMMENT_LIMIT = 65_536;
/** Room kept below the limit for what follows the changes: drift, workspace settings, the footer. */
const RESERVE = 6_000;
/** The most customers the note of what was left out lists by name; the others are summed. */
const NOTE_CUSTOMERS = 50;
/** The most flows named under a shared change; the others are counted. */
const SHARED_NAMES = 20;

/**
 * One change as the sections show it: its line, the block of its own field changes, and its mapping's diff (a
 * hunk that many flows made from one template share). Both blocks are empty for most changes.
 */
export interface RenderedChange {
  line: string;
  block: string[];
  hunk: string[];
}

/** An update's blocks: its fields as one diff block, its mapping's line diff as another (see RenderedChange). */
export function updateBlocks(
  fields: readonly FieldChange[],
  mapping?: { header?: string; diff: readonly string[] },
): { block: string[]; hunk: string[] } {
  return {
    block: fields.length ? updateBlock(fields) : [],
    hunk: mapping?.diff.length ? updateBlock([], mapping) : [],
  };
}

const size = (lines: readonly string[]) => lines.reduce((n, l) => n + l.length + 1, 0);

/**
 * Each customer's changes in a collapsible section, within a pull request comment's limit (`used`: the
 * characters before them), so that a large change is never a comment GitHub refuses, nor one that stops without
 * saying so:
 *
 * - A diff shared by several changes — the same template hunk in every flow made from the template, with the
 *   same fields or alone — is shown once, above the customers, with the flows it applies to; each of those
 *   changes then names it instead.
 * - When the next change does not fit, listing stops, and a note says how many of how many were listed, and
 *   counts those left out per customer (`everything` says where the whole list is).
 */
export function customerSections<C extends { action: Action; address: string }>(
  byCustomer: Map<string, C[]>,
  render: (c: C) => RenderedChange,
  opts: { used: number; everything: string; limit?: number },
): string[] {
  const budget = (opts.limit ?? COMMENT_LIMIT) - RESERVE - opts.used;
  const rendered = new Map<C, RenderedChange>();
  const uses = new Map<string, number>();
  const count = (key: string) => uses.set(key, (uses.get(key) ?? 0) + 1);
  for (const changes of byCustomer.values())
    for (const c of changes) {
      const r = render(c);
      rendered.set(c, r);
      if (!r.hunk.length) continue;
      count(r.hunk.join('\n'));
      // With no fields of its own, the whole diff is the hunk: counted once, or one flow would look like two.
      if (r.block.length) count([...r.block, ...r.hunk].join('\n'));
    }
  // What each change shares: its whole diff when other changes have the same (a template version bump: the same
  // fields and hunk in every flow), else its mapping hunk when that alone is the same, else nothing.
  const unitOf = new Map<C, { key: string; whole: boolean }>();
  const flowsOf = new Map<string, C[]>();
  for (const [c, r] of rendered) {
    if (!r.hunk.length) continue;
    const whole = [...r.block, ...r.hunk].join('\n');
    const unit = uses.get(whole)! > 1 ? { key: whole, whole: true } : { key: r.hunk.join('\n'), whole: false };
    if (uses.get(unit.key)! < 2) continue;
    unitOf.set(c, unit);
    flowsOf.set(unit.key, [...(flowsOf.get(unit.key) ?? []), c]);
  }
  const shared = new Map<string, number>(); // a shared diff → its number
  const out: string[] = [];
  let used = 0;
  const fits = (lines: readonly string[]) => used + size(lines) <= budget;
  const add = (lines: readonly string[]) => {
    out.push(...lines);
    used += size(lines);
  };
  if (flowsOf.size) add(['', '#### Shared changes', '', 'The same change in several flows, shown once:']);
  for (const [key, cs] of flowsOf) {
    const n = shared.size + 1;
    const names = cs.slice(0, SHARED_NAMES).map((c) => `\`${c.address}\``);
    const more = cs.length > SHARED_NAMES ? ` and ${cs.length - SHARED_NAMES} more` : '';
    const lines = [
      '',
      `- **Shared change ${n}**, in ${cs.length} flows: ${names.join(', ')}${more}`,
      ...key.split('\n'),
    ];
    if (!fits(lines)) break;
    add(lines);
    shared.set(key, n);
  }
  let listed = 0;
  let total = 0;
  const left = new Map<string, Counts>();
  let cut = false;
  for (const [customer, changes] of byCustomer) {
    total += changes.length;
    const open = customerDetails(customer, changes.length);
    let opened = false;
    for (const c of changes) {
      const r = rendered.get(c)!;
      const unit = unitOf.get(c);
      const n = unit && shared.get(unit.key);
      const lines =
        n === undefined
          ? [r.line, ...r.block, ...r.hunk]
          : unit!.whole
            ? [`${r.line} (shared change ${n}, above)`]
            : [`${r.line} (mapping: shared change ${n}, above)`, ...r.block];
      if (!cut && fits(opened ? lines : [...open, ...lines, '', '</details>'])) {
        if (!opened) add(open);
        opened = true;
        add(lines);
        listed++;
        continue;
      }
      cut = true;
      const l = left.get(customer) ?? { create: 0, update: 0, delete: 0 };
      l[c.action]++;
      left.set(customer, l);
    }
    if (opened) add(['', '</details>']);
  }
  if (!cut) return out;
  const note = [
    '',
    '> [!NOTE]',
    `> This comment stops at a pull request comment's limit (${COMMENT_LIMIT.toLocaleString('en-US')} characters): it lists ${listed.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} changes. ${opts.everything}`,
    '',
    `Not listed, by customer (${(total - listed).toLocaleString('en-US')}):`,
    '',
    ...countsTable([...left], NOTE_CUSTOMERS),
  ];
  return [...out, ...note];
}
