/**
 * The guards of YAML reading (engine/load/yaml.ts): what a file may hold before its values are built, so that no
 * file, however odd, costs more than a bounded time and memory, or reaches the validator as anything but plain data.
 * Each finding is a located diagnostic with a fix, never an exception (issue 15).
 *
 *   text      LF, CRLF and CR line breaks read alike and a leading BOM is dropped, so that twins get the same
 *             diagnostics at the same line and column; control characters YAML does not allow (`yaml-character`,
 *             the documents still read); nesting deeper than MAX_DEPTH (`yaml-depth`, the file not parsed). Both parsers recurse, and past about a thousand levels
 *             they overflow the stack at a depth that varies from run to run: the limit is checked on the text,
 *             before either runs, so a result never depends on the stack.
 *   aliases   an alias before its anchor or inside the node it names (a cycle), more than MAX_ALIASES aliases in a
 *             document, or more than MAX_EXPANDED characters of value repeated through aliases (an alias bomb):
 *             `yaml-alias`, at the alias that crosses the bound. The walk counts sizes once per anchor, so even a
 *             bomb of a billion nodes is measured in a few microseconds.
 *   merges    YAML 1.1 merge keys are read (`<<: *base`, `<<: [*a, *b]`, `<<: { … }`: the mapping's own keys win,
 *             then the sources in order), in every kind alike; `<<` given anything but mappings, or `!!merge` used
 *             as a value, is `yaml-merge-key`.
 *   tags      the core schema's (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) and !!merge; any other tag
 *             (!!binary, !!timestamp, !custom) is `yaml-tag` and its node is read as if untagged.
 *
 * The text guards are approximate on purpose (a linear scan, no parser): they over-count rather than under-count,
 * and the limits are far above any real file (a workspace file nests a dozen levels).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.js';

/** Levels of nesting (block indentation, flow brackets, `- ` entries) a YAML file may have. */
export const MAX_DEPTH = 100;
/** Aliases one document may use. */
export const MAX_ALIASES = 1000;
/** Characters of value (scalar text, plus one per node) that aliases may repeat in one document. */
export const MAX_EXPANDED = 1_000_000;

/** The codes that leave a document (or a whole file) out: what it declares is not read. */
export const UNREADABLE_CODES: ReadonlySet<string> = new Set([
  'yaml-syntax',
  'yaml-depth',
  'yaml-alias',
  'yaml-merge-key',
]);

/** The text both parsers read: without a leading byte order mark, with every line break a LF. */
export function normaliseText(text: string): string {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return t.includes('\r') ? t.replace(/\r\n?/g, '\n') : t;
}

/** 1-based line and column of `offset` in a normalised text. */
function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last };
}

/**
 * Characters YAML 1.2 does not allow in a stream (c-printable), as js-yaml checks them, but NUL: a raw NUL is
 * text-unstorable (engine/validate), reported at the character like its escape `\0`, as before this guard.
 */
const NON_PRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  /[\x01-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** NON_PRINTABLE's characters, and any surrogate: one quick test that nearly every file passes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
const ANY_SUSPECT = /[\x01-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF\uD800-\uDFFF]/;

/**
 * Without any of these, a text cannot nest past MAX_DEPTH as depthExceeded counts (at most 40 indentation levels,
 * 40 brackets and 19 leading entry indicators): the exact scan is skipped. Each is linear (the last is anchored at
 * the start of the text, so it is not retried at every offset).
 */
const MAYBE_DEEP = [/^ {40}/m, /^[ \t]*(?:[-?][ \t]+){20}/m, /^(?:[^[{]*[[{]){41}/];

/** At most this many control characters are reported per file (one per line): the rest follow from the same cause. */
const MAX_CHARACTER_REPORTS = 5;

/**
 * The problems of a normalised text: control characters (reported; the documents are still read, so that the rest of
 * the file is checked) and excessive nesting (`yaml-depth`: the file is not parsed at all). Empty for any ordinary
 * file; the scan is linear and allocates nothing for a clean one.
 */
export function textProblems(file: string, text: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!ANY_SUSPECT.test(text) && !MAYBE_DEEP.some((re) => re.test(text))) return out; // nearly every file
  NON_PRINTABLE.lastIndex = 0;
  let lastLine = 0;
  for (let m = NON_PRINTABLE.exec(text); m && out.length < MAX_CHARACTER_REPORTS; m = NON_PRINTABLE.exec(text)) {
    const at = positionAt(text, m.index);
    if (at.line === lastLine) continue;
    lastLine = at.line;
    const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    const written = m[0].charCodeAt(0) < 0x100 ? `\\x${code.slice(2)}` : `\\u${code}`;
    out.push({
      severity: 'error',
      code: 'yaml-character',
      summary: `A control character (U+${code}) in the file`,
      detail: `YAML allows no control character but tab and line breaks. Remove it (an editor may show it as a box or nothing at all); to have it in a value, write it as an escape in a double-quoted string ("${written}").`,
      range: { file, start: at },
    });
  }
  const deep = depthExceeded(text);
  if (deep !== undefined) {
    out.push({
      severity: 'error',
      code: 'yaml-depth',
      summary: `Nested more than ${MAX_DEPTH} levels deep`,
      detail: `rsync reads YAML nested at most ${MAX_DEPTH} levels (mappings, lists and brackets inside each other), so none of this file's documents is read. Flatten the structure here; an unclosed bracket or a run of indentation can also cause it.`,
      range: { file, start: positionAt(text, deep) },
    });
  }
  return out;
}

const SPACE = 32;
const TAB = 9;

/**
 * The offset where nesting first passes MAX_DEPTH, or undefined. Counts the block indentation levels open at a line,
 * the `- ` and `? ` indicators that open its content (`- - - x` nests; `a: b: c` is an error, not nesting), and the
 * flow brackets open, outside quoted scalars, comments and block scalars (`|`, `>`: JSONata inside them has brackets
 * of its own).
 */
export function depthExceeded(text: string): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote = 0; // the char code of the quote a multi-line quoted scalar is open with, else 0
  let blockParent = -1; // inside a block scalar: lines indented deeper than this are its content
  const n = text.length;
  for (let i = 0; i < n; ) {
    let end = text.indexOf('\n', i);
    if (end < 0) end = n;
    let p = i;
    while (p < end && text.charCodeAt(p) === SPACE) p++;
    const indent = p - i;
    const blank = p === end || text.charCodeAt(p) === 35; // empty, or a comment line
    if (blockParent >= 0) {
      if (blank || indent > blockParent) {
        i = end + 1;
        continue;
      }
      blockParent = -1;
    }
    // Inside a quoted scalar the indentation is counted too: a quote the parser reads as text (a plain scalar's
    // continuation line may start with one) must not hide the lines after it, and counting more is the safe side.
    if (!blank && flow === 0) {
      while (indents.length > 0 && indents[indents.length - 1] >= indent) indents.pop();
      indents.push(indent);
      if (indents.length > MAX_DEPTH) return p;
    }
    let compact = 0;
    let leading = true; // still among the indicators that open the line's content
    for (let c = p; c < end; c++) {
      const ch = text.charCodeAt(c);
      if (quote !== 0) {
        if (ch === 92 && quote === 34)
          c++; // \x in a double-quoted scalar
        else if (ch === quote) {
          if (quote === 39 && text.charCodeAt(c + 1) === 39)
            c++; // '' in a single-quoted one
          else quote = 0;
        }
        continue;
      }
      if (ch === SPACE || ch === TAB) continue;
      const prev = c > p ? text.charCodeAt(c - 1) : SPACE;
      if (ch === 35 && (prev === SPACE || prev === TAB)) break; // a comment
      const indicator = (ch === 45 || ch === 63) && (c + 1 === end || text.charCodeAt(c + 1) === SPACE);
      if (leading && indicator && flow === 0) {
        compact++;
        if (indents.length + compact > MAX_DEPTH) return c;
        continue;
      }
      leading = false;
      if (ch === 34 || ch === 39) {
        if (startsNode(text, p, c)) quote = ch;
        continue;
      }
      // In block context a bracket opens a flow collection only where a node starts (`a: x[1]` is text).
      if ((ch === 91 || ch === 123) && (flow > 0 || startsNode(text, p, c))) {
        flow++;
        if (indents.length + compact + flow > MAX_DEPTH) return c;
      } else if ((ch === 93 || ch === 125) && flow > 0) flow--;
      else if (flow === 0 && (ch === 124 || ch === 62) && startsNode(text, p, c)) {
        if (/^[|>][0-9+-]*[ \t]*(?:#.*)?$/.test(text.slice(c, end))) {
          blockParent = indent;
          break;
        }
      }
    }
    i = end + 1;
  }
  return undefined;
}

/** Does the character at `c` start a node: first on its line, or after a flow or block indicator and spaces? */
function startsNode(text: string, lineStart: number, c: number): boolean {
  let b = c - 1;
  while (b >= lineStart && (text.charCodeAt(b) === SPACE || text.charCodeAt(b) === TAB)) b--;
  if (b < lineStart) return true;
  const ch = text.charCodeAt(b);
  return ch === 91 || ch === 123 || ch === 44 || ((ch === 58 || ch === 45 || ch === 63) && b < c - 1);
}

interface Walk {
  doc: Document.Parsed;
  file: string;
  lines: LineCounter;
  anchors: Map<string, Node>;
  /** Anchored nodes being walked: an alias to one of them is a cycle. */
  open: Set<Node>;
  /** Expanded size of each anchored node walked. */
  sizes: Map<Node, number>;
  aliases: number;
  expanded: number;
  /** The first problem that leaves the document out; the walk stops at it. */
  stop?: Diagnostic;
}

/**
 * The problems of one parsed (error-free) document that must be reported before its value is built: aliases
 * (unresolved, cyclic, past the bounds) and misused merge keys, which leave the document out, and unknown tags,
 * which do not. Anchors are looked up the way the `yaml` package resolves them: the last one of that name before
 * the alias, in document order.
 */
export function treeProblems(
  file: string,
  doc: Document.Parsed,
  lines: LineCounter,
): { unreadable?: Diagnostic; tags: Diagnostic[] } {
  const tags: Diagnostic[] = [];
  for (const w of doc.warnings) {
    if (w.code !== 'TAG_RESOLVE_FAILED') continue;
    const tag = /Unresolved tag: (\S+)/.exec(w.message)?.[1] ?? 'this tag';
    tags.push({
      severity: 'error',
      code: 'yaml-tag',
      summary: `rsync does not read the tag ${tag.replace(/^tag:yaml\.org,2002:/, '!!')}`,
      detail:
        'rsync reads plain YAML values: strings, numbers, booleans, null, lists and mappings (tags !!str, !!int, !!float, !!bool, !!null, !!seq, !!map). Remove the tag; the value is read as written without it.',
      range: { file, start: at(lines, w.pos[0]) },
    });
  }
  const walk: Walk = {
    doc,
    file,
    lines,
    anchors: new Map(),
    open: new Set(),
    sizes: new Map(),
    aliases: 0,
    expanded: 0,
  };
  visit(walk, doc.contents as Node | null, false);
  return { unreadable: walk.stop, tags };
}

function at(lines: LineCounter, offset: number): { line: number; column: number } {
  const p = lines.linePos(offset);
  return { line: p.line, column: p.col };
}

function problem(w: Walk, node: Node, code: string, summary: string, detail: string): number {
  w.stop ??= {
    severity: 'error',
    code,
    summary,
    detail,
    range: { file: w.file, start: at(w.lines, node.range?.[0] ?? 0) },
  };
  return 1;
}

/** Walk a node in document order; its expanded size (one per node, plus a scalar's text). */
function visit(w: Walk, node: Node | null, isKey: boolean): number {
  if (!node || w.stop) return 1;
  if (isAlias(node)) {
    const target = w.anchors.get(node.source);
    if (!target)
      return problem(
        w,
        node,
        'yaml-alias',
        `Alias *${node.source} has no anchor before it`,
        `An alias repeats a node marked &${node.source} earlier in the same document (anchors do not reach across \`---\`). Put the anchor before the alias, or write the value out.`,
      );
    if (w.open.has(target))
      return problem(
        w,
        node,
        'yaml-alias',
        `Alias *${node.source} is inside the node it repeats`,
        `The alias would make the value contain itself without end. Move it out of the node marked &${node.source}, or write the value out.`,
      );
    const size = w.sizes.get(target) ?? 1;
    w.aliases++;
    w.expanded += size;
    if (w.aliases > MAX_ALIASES)
      return problem(
        w,
        node,
        'yaml-alias',
        `More than ${MAX_ALIASES} aliases in one document`,
        `rsync reads at most ${MAX_ALIASES} aliases per document, so this one is not read. Use a template (uses: with with: parameters) or an environment overlay for repeated values.`,
      );
    if (w.expanded > MAX_EXPANDED)
      return problem(
        w,
        node,
        'yaml-alias',
        `Aliases expand past ${MAX_EXPANDED.toLocaleString('en-US')} characters`,
        `The aliases of this document, up to this one, repeat more than ${MAX_EXPANDED.toLocaleString('en-US')} characters of value (aliases of nodes that hold aliases multiply: an "alias bomb"), so it is not read. Write the values out, or use a template for repeated parts.`,
      );
    return size;
  }
  if (node.anchor) {
    w.anchors.set(node.anchor, node);
    w.open.add(node);
  }
  let size = 1;
  if (isScalar(node)) {
    if (typeof node.value === 'symbol' && !isKey)
      problem(
        w,
        node,
        'yaml-merge-key',
        'A merge key (<<) used as a value',
        '`<<` merges mappings only as a key (`<<: *base`); as a value it is not data. Quote it ("<<") if you mean the text.',
      );
    size += typeof node.source === 'string' ? node.source.length : String(node.value).length;
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key as Node | null;
      size += visit(w, key, true);
      size += visit(w, pair.value as Node | null, false);
      if (isScalar(key) && typeof key.value === 'symbol') checkMergeSources(w, pair.value as Node | null, key);
      if (w.stop) break;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      size += visit(w, item as Node | null, false);
      if (w.stop) break;
    }
  }
  if (node.anchor) {
    w.open.delete(node);
    w.sizes.set(node, size);
  }
  return size;
}

/** `<<` takes a mapping, an alias of one, or a list of those. */
function checkMergeSources(w: Walk, value: Node | null, key: Node): void {
  if (w.stop) return;
  const isMapping = (n: unknown): boolean => isMap(isAlias(n) ? w.anchors.get(n.source) : n);
  const ok = value !== null && (isMapping(value) || (isSeq(value) && value.items.every(isMapping)));
  if (!ok)
    problem(
      w,
      value ?? key,
      'yaml-merge-key',
      'A merge key (<<) takes mappings',
      '`<<` merges the keys of a mapping into this one: give it a mapping, an alias of one (`<<: *base`) or a list of them (`<<: [*base, *extra]`). Quote the key ("<<") if you mean a key named <<.',
    );
}

/** The node a merge key or an alias stands for, through aliases: for source positions of merged values. */
export function derefAlias(doc: Document.Parsed, node: unknown): unknown {
  let n = node;
  for (let hops = 0; isAlias(n) && hops < 100; hops++) n = n.resolve(doc);
  return n;
}
