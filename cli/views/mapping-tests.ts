/** A mapping test case as text: one line when it passed, its message and details below when it did not. */
import type { CaseResult } from '../../engine/mapping/test-runner.js';
import { dim, green, red } from './diagnostics.js';

export function renderCase(c: CaseResult): string {
  const head = `${c.status === 'passed' ? green('PASS') : red(c.status === 'error' ? 'ERROR' : 'FAIL')} ${c.file}:${c.line} ${c.test} › ${c.case}`;
  if (c.status === 'passed') return `${head} ${dim(`(${c.durationMs} ms)`)}`;
  const lines = [head, `    ${c.message}`];
  for (const d of c.details ?? []) lines.push(`      ${d}`);
  return lines.join('\n');
}
