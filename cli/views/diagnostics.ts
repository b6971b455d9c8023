/** Text rendering of diagnostics for a terminal: `file:line:col severity CODE summary`, the fix on the next line. */
import { formatDiagnostic, type Diagnostic } from '../../engine/diagnostics/diagnostic.js';

const useColour = (): boolean => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !process.env.CI;

export function colour(code: number, text: string): string {
  return useColour() ? `\u001b[${code}m${text}\u001b[0m` : text;
}

export const red = (t: string) => colour(31, t);
export const yellow = (t: string) => colour(33, t);
export const green = (t: string) => colour(32, t);
export const dim = (t: string) => colour(2, t);
export const bold = (t: string) => colour(1, t);

export function renderDiagnostic(d: Diagnostic): string {
  const text = formatDiagnostic(d);
  if (!useColour()) return text;
  const sev = d.severity === 'error' ? red('error') : yellow('warning');
  return text.replace(` ${d.severity} `, ` ${sev} `).replace(/\n {4}/, `\n    ${dim('')}`);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
