/**
 * YAML with source positions: every document keeps its node tree, so any path in its value can be traced back
 * to a file, line and column. Parse errors become diagnostics, never exceptions.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { Diagnostic, Position, SourceRange } from '../diagnostics/diagnostic.js';

export type Path = readonly (string | number)[];

/** One YAML document of a file, with its plain value. */
export interface YamlDoc {
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
}

export interface ParsedFile {
  file: string;
  docs: YamlDoc[];
  diagnostics: Diagnostic[];
}

function pos(lines: LineCounter, offset: number): Position {
  const p = lines.linePos(offset);
  return { line: p.line, column: p.col };
}

/** Parse every document of a YAML file. Documents with syntax errors are reported and left out. */
export function parseYamlFile(file: string, text: string): ParsedFile {
  const lines = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const docs: YamlDoc[] = [];
  sourceText.set(lines, text);
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const all = Array.isArray(parsed) ? parsed : [parsed];
  all.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const message = e.message.split(/ at line \d+, column \d+/)[0].trim();
        const duplicate = e.code === 'DUPLICATE_KEY';
        diagnostics.push({
          severity: 'error',
          code: duplicate ? 'yaml-duplicate-key' : 'yaml-syntax',
          summary: duplicate ? 'Duplicate key' : 'YAML syntax error',
          detail: duplicate
            ? `${message}. A key may appear once per mapping: remove or rename the second one.`
            : `${message}. Fix the YAML at this position (check indentation, quotes and brackets).`,
          range: { file, start: pos(lines, e.pos[0]) },
        });
      }
      return;
    }
    if (doc.contents === null) return; // an empty document (a trailing `---`, a comment-only file)
    docs.push({ file, index, doc, lines, value: doc.toJS({ maxAliasCount: 1000 }) });
  });
  return { file, docs, diagnostics };
}

/** The node at `path`, or the deepest node on the way there; `key` asks for the key of the last map entry. */
export function findNode(doc: YamlDoc, path: Path, key = false): { node: Node | null; found: boolean } {
  let node: unknown = doc.doc.contents;
  let keyNode: Node | null = null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { node: node as Node, found: false };
      keyNode = pair.key as Node;
      node = pair.value;
      if (node === null) return { node: keyNode, found: i === path.length - 1 };
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return { node: node as Node, found: false };
      keyNode = null;
      node = item;
    } else {
      return { node: (node as Node) ?? null, found: false };
    }
  }
  if (key && keyNode) return { node: keyNode, found: true };
  return { node: (node as Node) ?? null, found: true };
}

/** The source range of `path` in a document (the deepest existing node when the path does not exist). */
export function rangeOf(doc: YamlDoc, path: Path, key = false): SourceRange {
  const { node } = findNode(doc, path, key);
  const r = node?.range;
  if (!r) return { file: doc.file, start: { line: 1, column: 1 } };
  return { file: doc.file, start: pos(doc.lines, r[0]), end: pos(doc.lines, r[1]) };
}

/**
 * Where character `index` of a scalar's value stands in the file: for JSONata written inside YAML, so an error at
 * offset 12 of `key:` is reported at the right column. Exact for plain, quoted (without escapes) and block scalars.
 */
export function scalarIndexPosition(doc: YamlDoc, path: Path, index: number): SourceRange {
  const { node, found } = findNode(doc, path);
  if (!found || !node || !isScalar(node) || !node.range) return rangeOf(doc, path);
  const start = node.range[0];
  const value = String(node.value);
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    // The header (| or >) is on the first line; content starts on the next line, indented.
    const before = value.slice(0, index);
    const lineInValue = before.split('\n').length - 1;
    const col = index - (before.lastIndexOf('\n') + 1);
    const header = doc.lines.linePos(start);
    const firstContentLine = header.line + 1;
    const indent = blockIndent(doc, firstContentLine);
    return { file: doc.file, start: { line: firstContentLine + lineInValue, column: indent + col + 1 } };
  }
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
  return { file: doc.file, start: pos(doc.lines, start + quoted + Math.min(index, value.length)) };
}

function blockIndent(doc: YamlDoc, line: number): number {
  const offset = doc.lines.lineStarts[line - 1];
  const text = sourceText.get(doc.lines) ?? '';
  let i = offset;
  while (i < text.length && text[i] === ' ') i++;
  return i - offset;
}

/** The source text behind a LineCounter, for the few look-ups that need raw characters. */
const sourceText = new WeakMap<LineCounter, string>();

/** The range of a whole file's first line: for problems that belong to a file rather than a node. */
export function fileStart(file: string): SourceRange {
  return { file, start: { line: 1, column: 1 } };
}
