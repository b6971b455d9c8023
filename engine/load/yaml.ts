/**
 * YAML with source positions: any path in a document's value can be traced back to a file, line and column.
 * Parse errors become diagnostics, never exceptions.
 *
 * Two parsers, for speed: a clean file's values come from js-yaml (about ten times faster than building the
 * `yaml` package's node tree, and far lighter to keep), and the node tree with positions is built only when a
 * diagnostic needs a position in that file. A file js-yaml rejects, or one with anchors, aliases or merge keys, goes
 * straight to the `yaml` package, whose errors carry positions; its node tree is checked (engine/load/yaml-guards.ts:
 * aliases, merge keys, tags) before any value is built. Both read the same text: line breaks made LF and a leading
 * BOM dropped, after the text guards (control characters, nesting depth), so no oddity of a file reaches a parser's
 * stack or an exception, and both paths (and the content cache, which keeps the fast path's values) agree.
 */
import jsyaml from 'js-yaml';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  parseAllDocuments,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import type { Diagnostic, Position, SourceRange } from '../diagnostics/diagnostic.js';
import type { ContentCache } from './content-cache.js';
import { CORE_SCHEMA } from './yaml-schema.js';
import { derefAlias, normaliseText, textProblems, treeProblems, UNREADABLE_CODES } from './yaml-guards.js';

export type Path = readonly (string | number)[];

/** One YAML document of a file, with its plain value; its node tree (`doc`) and `lines` are built on first use. */
export interface YamlDoc {
  file: string;
  /** 0-based index of the document among the file's non-empty documents. */
  index: number;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  value: unknown;
}

/** The `yaml` package's parse of a whole file, made once and shared by its documents. */
class FileTree {
  private parsed?: { lines: LineCounter; docs: Document.Parsed[] };
  constructor(private readonly text: string) {}

  get(): { lines: LineCounter; docs: Document.Parsed[] } {
    if (!this.parsed) {
      const lines = new LineCounter();
      sourceText.set(lines, this.text);
      const all = parseAllDocuments(this.text, { ...PARSE_OPTIONS, lineCounter: lines });
      // The documents js-yaml gave a value for (an empty one, or a bare null, gives none).
      const docs = (Array.isArray(all) ? all : [all]).filter(
        (d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null),
      );
      this.parsed = { lines, docs };
    }
    return this.parsed;
  }
}

class LazyDoc implements YamlDoc {
  constructor(
    readonly file: string,
    readonly index: number,
    public value: unknown,
    private readonly tree: FileTree,
  ) {}

  get doc(): Document.Parsed {
    // Were the two parsers ever to disagree on the documents of a file, positions fall back to its start rather
    // than to another document's (the fuzzer's differential check, test/fuzz/, looks for such files).
    return this.tree.get().docs[this.index] ?? EMPTY_DOC;
  }

  get lines(): LineCounter {
    return this.tree.get().lines;
  }
}

/** How the `yaml` package reads every file: the core schema whatever a `%YAML` directive says, and YAML 1.1 merge keys. */
const PARSE_OPTIONS = {
  prettyErrors: false,
  uniqueKeys: true,
  merge: true,
  schema: 'core',
  // !!binary, !!set, !!timestamp… are not plain data: yaml-guards.ts reports them (js-yaml's core schema rejects them).
  resolveKnownTags: false,
  // A collection as a mapping key is stringified, and then reported like any other unknown key; never a Node
  // warning on stderr.
  logLevel: 'error',
} as const;

/** A document with nothing in it: every path in it is at the file's start. */
const EMPTY_DOC = parseDocument('', PARSE_OPTIONS) as Document.Parsed;

/** Anchors (`&name`), aliases (`*name`) and merge keys (`<<`) where YAML allows them: such files take the guarded parser. */
const ANCHOR_OR_ALIAS = /(?:^|[\s[{,:?-])[&*][^\s,[\]{}]|<</m;
/**
 * A quoted scalar that starts a node, on one line: left out of the test above, so that a JSONata key such as
 * `"$a &b"` keeps the fast path. A quote inside a plain scalar (`O'Brien`) starts nothing; and the match never ends
 * after the scalar's real end (an escaped quote ends it early), so an anchor outside quotes is never hidden.
 */
const QUOTED = /(^|[\s[{,]|[:?-][ \t])(["'])(?:(?!\2).)*\2/gm;

/**
 * What js-yaml reads differently from `yaml` whatever the schema (test/load/yaml-parsers.test.ts): a null mapping key
 * (`~:`, `null:`, an explicit `? ` key; js-yaml names it "null", `yaml` ""), a nested sequence whose last item is
 * empty (`- -`, which js-yaml runs into the next item), a quoted scalar over several lines (js-yaml accepts
 * continuation lines that `yaml`, after YAML 1.2, rejects as under-indented), a tag (`!!str`, an empty `!`: the
 * guarded parser reports tags, yaml-guards.ts) and a byte order mark past the file's start (`yaml` drops one at a
 * document's start, js-yaml reads it as text). Tested on the text with one-line quoted scalars emptied, so a quote
 * still opening a node there opens one that spans lines. Such files take the guarded parser, so both read them alike.
 */
const READ_DIFFERENTLY =
  /(?:^|[\s[{,])(?:~|null|Null|NULL)[ \t]*:(?:[ \t]|$)|^[ \t]*\?(?:[ \t]|$)|-[ \t]+-[ \t]*$|(?:^|[\s[{,])(?:"(?!")|'(?!')|!)|\uFEFF/m;

/**
 * A flow collection over several lines (`{ a: 1,` then `}` on the next): js-yaml accepts its lines under-indented
 * where `yaml` (after YAML 1.2) does not. A line with more `{`/`[` than `}`/`]` (quoted scalars emptied, comments
 * left out) sends the file to the guarded parser; such lines are rare in rsync's files (block scalars of JSONata
 * among them, which then cost the slower parse, never a different reading).
 */
function opensFlowOverLines(unquoted: string): boolean {
  if (!unquoted.includes('{') && !unquoted.includes('[')) return false;
  for (const line of unquoted.split('\n')) {
    let depth = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) break;
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
    }
    if (depth > 0) return true;
  }
  return false;
}

function fastParse(file: string, text: string): ParsedFile | undefined {
  const unquoted = text.includes('"') || text.includes("'") ? text.replace(QUOTED, '$1""') : text;
  if (ANCHOR_OR_ALIAS.test(unquoted) || READ_DIFFERENTLY.test(unquoted) || opensFlowOverLines(unquoted))
    return undefined;
  let values: unknown[];
  let anchored = false;
  try {
    values = jsyaml.loadAll(text, undefined, {
      schema: CORE_SCHEMA,
      filename: file,
      // Belt and braces for the test above: an anchor js-yaml saw sends the file to the guarded parser too.
      listener: (event, state) => {
        if (event === 'close' && (state as unknown as { anchor?: string | null }).anchor != null) anchored = true;
      },
    });
  } catch {
    return undefined; // the `yaml` package reports it, with positions
  }
  if (anchored) return undefined;
  // An empty document (a trailing `---`, a comment-only file) is left out.
  return fromValues(
    file,
    text,
    values.filter((v) => v !== null && v !== undefined),
  );
}

/** A clean file's documents from their values; the node trees are built from `text` when a position is needed. */
function fromValues(file: string, text: string, values: unknown[]): ParsedFile {
  const tree = new FileTree(text);
  return { file, docs: values.map((v, i) => new LazyDoc(file, i, v, tree)), diagnostics: [] };
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

/**
 * Parse every document of a YAML file. Documents with syntax errors are reported and left out. With a content cache
 * (engine/load/content-cache.ts), a clean file's values are kept by its text, and the same text is not parsed again.
 */
export function parseYamlFile(file: string, raw: string, cache?: ContentCache): ParsedFile {
  const text = normaliseText(raw);
  const key = cache?.key(text);
  const values = key === undefined ? undefined : cache?.get('yaml', key);
  if (Array.isArray(values)) return fromValues(file, text, values);
  const found = textProblems(file, text);
  if (found.some((d) => UNREADABLE_CODES.has(d.code))) return { file, docs: [], diagnostics: found };
  if (found.length) {
    // Control characters: reported, and the file read by the guarded parser (js-yaml refuses them).
    const full = fullParse(file, text);
    return { ...full, diagnostics: [...found, ...full.diagnostics] };
  }
  const fast = fastParse(file, text);
  if (!fast) return fullParse(file, text);
  if (!cache || key === undefined) return fast;
  cache.put(
    'yaml',
    key,
    fast.docs.map((d) => d.value),
  );
  return fast;
}

/**
 * The two parsers by themselves, on a normalised text (yaml-guards.ts normaliseText) that passed the text guards: for
 * the fuzzer's differential check (test/fuzz/), which asserts that a file the fast path reads, the guarded one reads
 * alike. Not for the engine: parseYamlFile is the way in.
 */
export const parsers = { fast: fastParse, full: fullParse };

function fullParse(file: string, text: string): ParsedFile {
  const lines = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const docs: YamlDoc[] = [];
  sourceText.set(lines, text);
  const parsed = parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter: lines });
  const all = Array.isArray(parsed) ? parsed : [parsed];
  let openers: Opener[] | undefined;
  let syntaxReports = 0;
  all.forEach((doc, _index) => {
    if (doc.errors.length > 0) {
      const reported = new Set<number>();
      for (const e of doc.errors) {
        // A huge broken line can give thousands of errors, each from the one before: the first few locate it.
        if (syntaxReports >= MAX_SYNTAX_REPORTS) break;
        // One diagnostic per place: a second error there (a quote that swallowed a bracket) follows from the first.
        if (reported.has(e.pos[0])) continue;
        const offset = errorOffset(text, e, () => (openers ??= unclosedOpeners(text)));
        if (reported.has(offset)) continue;
        reported.add(e.pos[0]).add(offset);
        syntaxReports++;
        const message = e.message.split(/ at line \d+, column \d+/)[0].trim();
        const duplicate = e.code === 'DUPLICATE_KEY';
        diagnostics.push({
          severity: 'error',
          code: duplicate ? 'yaml-duplicate-key' : 'yaml-syntax',
          summary: duplicate ? 'Duplicate key' : 'YAML syntax error',
          detail: duplicate
            ? `${message}. A key may appear once per mapping: remove or rename the second one.`
            : `${message}. Fix the YAML at this position (check indentation, quotes and brackets).`,
          range: { file, start: pos(lines, offset) },
        });
      }
      // A duplicate key alone does not stop the document from being understood (the last value wins): keep it, so
      // that what it declares exists and nothing else is reported because of it.
      if (!doc.errors.every((e) => e.code === 'DUPLICATE_KEY')) return;
    }
    if (doc.contents === null) return; // an empty document (a trailing `---`, a comment-only file)
    const { unreadable, tags } = treeProblems(file, doc, lines);
    diagnostics.push(...tags);
    if (unreadable) {
      diagnostics.push(unreadable);
      return;
    }
    let value: unknown;
    try {
      // treeProblems bounded the aliases (count and expanded size) and checked the merge keys: no limit of the
      // package's own is needed, and none can disagree with those bounds.
      value = doc.toJS({ maxAliasCount: -1 });
    } catch (e) {
      // Nothing known reaches here; were something to, it is still the file's problem, at its place, not a crash.
      diagnostics.push({
        severity: 'error',
        code: 'yaml-syntax',
        summary: 'YAML that rsync cannot read',
        detail: `${e instanceof Error ? e.message.split('\n')[0] : String(e)}. Simplify the YAML of this document (anchors, aliases, tags), and please report the file to rsync's maintainers.`,
        range: { file, start: pos(lines, doc.range[0]) },
      });
      return;
    }
    if (value === null || value === undefined) return; // a bare null, as the fast path leaves it out
    docs.push({ file, index: docs.length, doc, lines, value });
  });
  return { file, docs, diagnostics };
}

/** Syntax errors reported per file, at most. */
const MAX_SYNTAX_REPORTS = 10;

/** An opening bracket or quote that is never closed. */
interface Opener {
  offset: number;
  char: string;
}

/**
 * Where to report a YAML error. The parser notices an unclosed bracket or quote where it gives up (the next line, the
 * next document, the end of the file): report it at the opening character. It notices an over-indented line at the
 * value before it, as a key spanning two lines: report it at the over-indented line.
 */
function errorOffset(text: string, e: YAMLError, openers: () => Opener[]): number {
  const at = e.pos[0];
  const wanted =
    e.code === 'MISSING_CHAR' && /quote/.test(e.message)
      ? ['"', "'"]
      : /end with a \}/.test(e.message)
        ? ['{']
        : /end with a \]/.test(e.message)
          ? ['[']
          : undefined;
  if (wanted) {
    const opener = openers()
      .filter((o) => wanted.includes(o.char) && o.offset < at)
      .pop();
    if (opener) return opener.offset;
  }
  if (e.code === 'MULTILINE_IMPLICIT_KEY' || e.code === 'BLOCK_AS_IMPLICIT_KEY') {
    const indent = (start: number) => {
      let i = start;
      while (text[i] === ' ') i++;
      return i - start;
    };
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    let next = text.indexOf('\n', at) + 1;
    while (next > 0 && next < text.length && /^[ ]*(#.*)?$/.test(text.slice(next, text.indexOf('\n', next) >>> 0))) {
      next = text.indexOf('\n', next) + 1;
    }
    if (next > 0 && next < text.length && indent(next) > indent(lineStart)) return next + indent(next);
  }
  return at;
}

/** Flow collections and quoted scalars that are never closed, by offset (from the parser's concrete syntax tree). */
function unclosedOpeners(text: string): Opener[] {
  const out: Opener[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const t = v as { type?: unknown; offset?: unknown; source?: unknown; start?: unknown; end?: unknown };
    if (t.type === 'flow-collection' && isObject(t.start) && Array.isArray(t.end)) {
      const open = String(t.start.source);
      const close = open === '{' ? '}' : ']';
      if (!t.end.some((x: unknown) => isObject(x) && x.source === close))
        out.push({ offset: Number(t.start.offset), char: open });
    }
    if (
      (t.type === 'double-quoted-scalar' || t.type === 'single-quoted-scalar') &&
      typeof t.source === 'string' &&
      typeof t.offset === 'number'
    ) {
      if (!closedQuote(t.source)) out.push({ offset: t.offset, char: t.source[0] });
    }
    for (const x of Object.values(v)) if (x && typeof x === 'object') walk(x);
  };
  for (const token of new Parser().parse(text)) walk(token);
  return out.sort((a, b) => a.offset - b.offset);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Does a quoted scalar's source end with its closing quote (not an escaped one)? */
function closedQuote(source: string): boolean {
  const q = source[0];
  const body = source.slice(1);
  if (!body.endsWith(q)) return false;
  let run = 0;
  if (q === "'") {
    for (let i = body.length - 1; i >= 0 && body[i] === "'"; i--) run++;
    return run % 2 === 1; // '' is an escaped quote
  }
  for (let i = body.length - 2; i >= 0 && body[i] === '\\'; i--) run++;
  return run % 2 === 0; // \" is an escaped quote
}

/** The node at `path`, or the deepest node on the way there; `key` asks for the key of the last map entry. */
export function findNode(doc: YamlDoc, path: Path, key = false): { node: Node | null; found: boolean } {
  let node: unknown = doc.doc.contents;
  let keyNode: Node | null = null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    node = derefAlias(doc.doc, node); // a value an alias repeats is shown where its anchor wrote it
    if (isMap(node)) {
      const pair = pairOf(doc.doc, node, String(seg), 0);
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

/** The pair of `key` in a mapping: its own, else the first of its merge sources (`<<`) that has it, as YAML 1.1 merges. */
function pairOf(doc: Document.Parsed, map: YAMLMap, key: string, depth: number): Pair | undefined {
  const own = map.items.find(
    (p) => isPair(p) && isScalar(p.key) && typeof p.key.value !== 'symbol' && String(p.key.value) === key,
  );
  if (own || depth > 20) return own;
  for (const p of map.items) {
    if (!isPair(p) || !isScalar(p.key) || typeof p.key.value !== 'symbol') continue;
    const v = derefAlias(doc, p.value);
    for (const source of isSeq(v) ? v.items.map((x) => derefAlias(doc, x)) : [v]) {
      const hit = isMap(source) ? pairOf(doc, source, key, depth + 1) : undefined;
      if (hit) return hit;
    }
  }
  return undefined;
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
 * offset 12 of `key:` is reported at the right line and column. The value is walked beside its source, so line
 * folding (folded `>` and multi-line plain or quoted scalars), block indentation and escapes (`\"`, `''`) are
 * accounted for.
 */
export function scalarIndexPosition(doc: YamlDoc, path: Path, index: number): SourceRange {
  const { node, found } = findNode(doc, path);
  const text = sourceText.get(doc.lines);
  if (!found || !node || !isScalar(node) || !node.range || text === undefined) return rangeOf(doc, path);
  const value = String(node.value);
  const end = node.range[1];
  let i = node.range[0];
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')
    i = text.indexOf('\n', i) + 1; // after the | or > header
  else if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') i++;
  const space = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  let v = 0;
  while (v < index && v < value.length && i < end) {
    const c = value[v];
    if (node.type === 'QUOTE_DOUBLE' && text[i] === '\\') {
      if (text[i + 1] === '\n') {
        i += 2; // an escaped line break: nothing in the value, and the next line's indentation is dropped
        while (text[i] === ' ' || text[i] === '\t') i++;
        continue;
      }
      const len = text[i + 1] === 'x' ? 4 : text[i + 1] === 'u' ? 6 : text[i + 1] === 'U' ? 10 : 2;
      i += len;
      v++;
      continue;
    }
    if (node.type === 'QUOTE_SINGLE' && text[i] === "'" && text[i + 1] === "'") {
      i += 2;
      v++;
      continue;
    }
    if (text[i] === c && c !== '\n') {
      i++;
      v++;
      continue;
    }
    if (space(c) || space(text[i])) {
      // A line break (folded to a space, kept as a newline, or several) and the indentation after it.
      while (i < end && space(text[i])) i++;
      while (v < index && space(value[v])) v++;
      continue;
    }
    break; // out of step (should not happen): the position reached so far is the best guess
  }
  return { file: doc.file, start: pos(doc.lines, Math.min(i, end)) };
}

/** The source text behind a LineCounter, for the few look-ups that need raw characters. */
const sourceText = new WeakMap<LineCounter, string>();

/** The range of a whole file's first line: for problems that belong to a file rather than a node. */
export function fileStart(file: string): SourceRange {
  return { file, start: { line: 1, column: 1 } };
}
