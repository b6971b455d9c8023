/**
 * One diagnostic shape for every stage (validation, planning, runs): severity, code, summary, detail, where.
 *
 * Functions return diagnostics instead of throwing; a user's mistake must never surface as a stack trace.
 * `summary` is a short title, `detail` a full sentence that says how to fix it. Codes are documented in
 * engine/diagnostics/codes.ts and in the README.
 */

export type Severity = 'error' | 'warning';

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** A place in a workspace file; `file` is relative to the workspace root, with forward slashes. */
export interface SourceRange {
  file: string;
  start: Position;
  end?: Position;
}

export interface Diagnostic {
  severity: Severity;
  code: string;
  summary: string;
  detail: string;
  range?: SourceRange;
  /** The resource it concerns, `<customer>/<kind>/<name>` (prefixed by `<env>/` when an environment is chosen). */
  address?: string;
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Sort by file, line, column, then code: the order users read them in. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return diags.sort((a, b) => {
    const fa = a.range?.file ?? '';
    const fb = b.range?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    const la = a.range?.start.line ?? 0;
    const lb = b.range?.start.line ?? 0;
    if (la !== lb) return la - lb;
    const ca = a.range?.start.column ?? 0;
    const cb = b.range?.start.column ?? 0;
    if (ca !== cb) return ca - cb;
    return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
  });
}

/** `file:line:col severity CODE summary` then the detail indented on the next line. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.range ? `${d.range.file}:${d.range.start.line}:${d.range.start.column}` : '(workspace)';
  const addr = d.address ? ` [${d.address}]` : '';
  return `${where} ${d.severity} ${d.code} ${d.summary}${addr}\n    ${d.detail}`;
}

/** The `--json` form of a diagnostic: stable keys, absent values left out. */
export function diagnosticToJSON(d: Diagnostic): Record<string, unknown> {
  const out: Record<string, unknown> = { severity: d.severity, code: d.code, summary: d.summary, detail: d.detail };
  if (d.range) {
    out.file = d.range.file;
    out.line = d.range.start.line;
    out.column = d.range.start.column;
    if (d.range.end) {
      out.endLine = d.range.end.line;
      out.endColumn = d.range.end.column;
    }
  }
  if (d.address) out.address = d.address;
  return out;
}

/** Counts for summaries. */
export function countDiagnostics(diags: readonly Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const d of diags) d.severity === 'error' ? errors++ : warnings++;
  return { errors, warnings };
}
