/**
 * Expected diagnostics written inline in a fixture workspace, the way terraform's error-files do it.
 *
 *   YAML      `... # ERROR: <code>` at the end of the offending line (`# WARNING: <code>` for a warning)
 *   JSONata   `... /* ERROR: <code> *\/` at the end of the offending line (also inside a YAML block scalar that
 *             holds JSONata, where `#` would be part of the expression)
 *
 * Options after the code, in this order, both optional:
 *   `@<column>`   pin the 1-based column as well as the line
 *   `"<text>"`    a piece of text the diagnostic's summary or detail must contain, in double or single quotes
 *                 (e.g. `'Did you mean "policy"'`); the text cannot contain the quote that delimits it
 *
 * Several markers may share a line: `# ERROR: secret-literal # ERROR: connection-settings`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../../engine/diagnostics/diagnostic.js';

export interface Marker {
  file: string;
  line: number;
  severity: 'error' | 'warning';
  code: string;
  column?: number;
  text?: string;
}

const MARKER = /(?:#|\/\*)\s*(ERROR|WARNING):\s*([a-z][a-z0-9-]*)(?:\s+@(\d+))?(?:\s+(?:"([^"]*)"|'([^']*)'))?/g;

/** Every file of a fixture workspace, relative to it with forward slashes. */
export function fixtureFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(root, child)).isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out;
}

/** The markers of every YAML and JSONata file of a fixture workspace. */
export function readMarkers(root: string): Marker[] {
  const out: Marker[] = [];
  for (const file of fixtureFiles(root)) {
    if (!/\.(ya?ml|jsonata)$/.test(file)) continue;
    // CRLF and CR end a line too: the line-ending fixtures (yaml-line-endings-*) are numbered as rsync numbers them.
    const lines = readFileSync(path.join(root, file), 'utf8').split(/\r\n?|\n/);
    lines.forEach((text, i) => {
      for (const m of text.matchAll(MARKER)) {
        out.push({
          file,
          line: i + 1,
          severity: m[1] === 'ERROR' ? 'error' : 'warning',
          code: m[2],
          column: m[3] === undefined ? undefined : Number(m[3]),
          text: m[4] ?? m[5],
        });
      }
    });
  }
  return out;
}

/** One comparable line per marker or diagnostic: `file:line[:col] severity code`. */
export function markerKey(m: Marker, withColumn: boolean, column?: number): string {
  return `${m.file}:${m.line}${withColumn ? `:${column ?? m.column}` : ''} ${m.severity} ${m.code}`;
}

export interface Comparison {
  missing: string[];
  extra: string[];
  /** Markers whose pinned text is not in the matching diagnostic. */
  wrongText: string[];
}

/**
 * Match diagnostics to markers one to one (a multiset: two identical diagnostics need two markers). A marker with
 * a column matches only a diagnostic at that column; one without matches any column of its line.
 */
export function compare(markers: Marker[], diags: Diagnostic[]): Comparison {
  const left = diags.map((d) => ({ d, used: false }));
  const missing: string[] = [];
  const wrongText: string[] = [];
  // Pinned markers first, so an unpinned one cannot take the diagnostic a pinned one needs.
  const ordered = [...markers].sort((a, b) => Number(b.column !== undefined) - Number(a.column !== undefined));
  for (const m of ordered) {
    const hit =
      left.find(
        ({ d, used }) =>
          !used &&
          d.range?.file === m.file &&
          d.range.start.line === m.line &&
          d.code === m.code &&
          d.severity === m.severity &&
          (m.column === undefined || d.range.start.column === m.column) &&
          (m.text === undefined || `${d.summary}\n${d.detail}`.includes(m.text)),
      ) ??
      left.find(
        ({ d, used }) =>
          !used &&
          d.range?.file === m.file &&
          d.range.start.line === m.line &&
          d.code === m.code &&
          d.severity === m.severity &&
          (m.column === undefined || d.range.start.column === m.column),
      );
    if (!hit) {
      missing.push(`${m.file}:${m.line}${m.column !== undefined ? `:${m.column}` : ''} ${m.severity} ${m.code}`);
      continue;
    }
    hit.used = true;
    if (m.text !== undefined && !`${hit.d.summary}\n${hit.d.detail}`.includes(m.text)) {
      wrongText.push(
        `${m.file}:${m.line} ${m.code}: expected the text "${m.text}" in: ${hit.d.summary} / ${hit.d.detail}`,
      );
    }
  }
  const extra = left.filter((x) => !x.used).map(({ d }) => describe(d));
  return { missing: missing.sort(), extra: extra.sort(), wrongText };
}

/** `file:line:col severity code summary`, as `rsync validate` prints it. */
export function describe(d: Diagnostic): string {
  const where = d.range ? `${d.range.file}:${d.range.start.line}:${d.range.start.column}` : '(workspace)';
  return `${where} ${d.severity} ${d.code} ${d.summary}`;
}
