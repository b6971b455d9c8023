/**
 * The fuzzer's checks (issue 15): one mutated workspace (mutate.ts), validated in process the way `rsync validate`
 * does it, against the promise that a bad file gets a located diagnostic and nothing else. A case fails on:
 *
 *   - an exception (the CLI would exit 70, "internal error"), unless an RsyncError with an exit code of the README's
 *     table other than 70;
 *   - a diagnostic without a file of the workspace and a line and column inside it, with an unknown code, without a
 *     summary or a fix, with "internal error" or a stack trace in its text, or longer than MAX_TEXT characters;
 *   - different diagnostics without a content cache, when filling one and when reading it back;
 *   - different diagnostics or positions once the changed files' line breaks are CRLF, or CR (when they had no CR);
 *   - a validation taking more than MAX_MS, or the case growing the heap by more than MAX_HEAP_MIB;
 *   - the two YAML parsers reading a changed file differently (engine/load/yaml.ts `parsers`, parserDisagreements).
 *
 * Everything is in memory (a WorkspaceSource over a Map) and the files
 * no case changed are parsed once per process, so a case costs about what its changed files cost.
 */
import { isDeepStrictEqual } from 'node:util';
import { CODES } from '../../engine/diagnostics/codes.js';
import type { Diagnostic } from '../../engine/diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { ContentCache } from '../../engine/load/content-cache.js';
import { loadFromSource, type ParseCache } from '../../engine/load/loader.js';
import type { WorkspaceSource } from '../../engine/load/source.js';
import { parsers } from '../../engine/load/yaml.js';
import { normaliseText, textProblems } from '../../engine/load/yaml-guards.js';
import { validateWorkspace } from '../../engine/validate/validate.js';
import type { MutatedCase } from './mutate.js';

export const MAX_MS = 5000;
export const MAX_HEAP_MIB = 200;
/** A diagnostic's summary and detail together: long enough for any message, short of echoing a huge value. */
export const MAX_TEXT = 4000;

/** The exit codes of the README's table (engine/diagnostics/errors.ts) but INTERNAL. */
const DOCUMENTED = new Set<number>(Object.values(ExitCode).filter((c) => c !== ExitCode.INTERNAL));

/** A workspace held in memory: what FolderSource would read from a folder with these files. */
export class MemorySource implements WorkspaceSource {
  readonly label = 'fuzz';
  constructor(
    readonly root: string,
    private readonly map: Map<string, string>,
  ) {}
  async files(): Promise<Map<string, string>> {
    return this.map;
  }
  async read(rel: string): Promise<string | undefined> {
    return this.map.get(rel);
  }
}

export interface CaseResult {
  /** Broken promises: each fails the case. */
  problems: string[];
  /** Where the two YAML parsers read a changed file differently (parserDisagreements). */
  disagreements: string[];
  /** The diagnostics without a cache (what `rsync validate` prints), `file:line:col severity code summary`. */
  diagnostics: string[];
  /** The whole case (four or five validations and the parser check). */
  ms: number;
  /** The slowest of its validations. */
  validationMs: number;
  heapMiB: number;
  /** The exit code `rsync validate` would give. */
  exitCode: number;
}

const key = (d: Diagnostic) =>
  `${d.range?.file}:${d.range?.start.line}:${d.range?.start.column} ${d.severity} ${d.code} ${d.summary}`;

/**
 * Parsed YAML of the files no case changed, shared by every case of a process (as `rsync watch` keeps them across
 * saves), so that a case costs what its changed files cost. The changed files are never in it: each validation
 * parses them, through the content cache when it has one.
 */
const unchangedParses: ParseCache = new Map();

async function validate(
  root: string,
  files: Map<string, string>,
  env: string | undefined,
  changed: readonly string[],
  cache?: ContentCache,
): Promise<{ diagnostics: Diagnostic[] } | { exitCode: number; message: string }> {
  const parses: ParseCache = new Map([...unchangedParses].filter(([f]) => !changed.includes(f)));
  try {
    const ws = await loadFromSource(new MemorySource(root, new Map(files)), env, parses, cache);
    for (const [f, p] of parses) if (!changed.includes(f)) unchangedParses.set(f, p);
    return { diagnostics: validateWorkspace(ws).diagnostics };
  } catch (e) {
    if (e instanceof RsyncError) return { exitCode: e.exitCode, message: e.message };
    return { exitCode: ExitCode.INTERNAL, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}

/** Lines of each file of a case, counted once (a case may have thousands of diagnostics in one huge file). */
type LineCounts = Map<string, number>;

function checkDiagnostic(d: Diagnostic, files: Map<string, string>, lineCounts: LineCounts, problems: string[]): void {
  const where = key(d);
  const text = `${d.summary}\n${d.detail}`;
  if (!(d.code in CODES)) problems.push(`${where}: unknown code ${d.code}`);
  if (!d.summary?.trim() || !d.detail?.trim()) problems.push(`${where}: no summary or no fix`);
  if (/internal error/i.test(text)) problems.push(`${where}: says "internal error"`);
  if (/^\s+at .+[:(]\d+/m.test(text) || /\b(?:TypeError|ReferenceError|RangeError)\b/.test(text))
    problems.push(`${where}: has a stack trace or a raw error`);
  if (text.length > MAX_TEXT) problems.push(`${where}: ${text.length} characters of text`);
  const r = d.range;
  if (!r?.file) {
    // Only a workspace with no rsync.yaml has nothing to point at.
    if (d.code !== 'workspace-missing') problems.push(`${where}: no file`);
    return;
  }
  const body = files.get(r.file);
  const { line, column } = r.start;
  if (!Number.isInteger(line) || !Number.isInteger(column) || line < 1 || column < 1)
    problems.push(`${where}: position ${line}:${column} is not 1-based`);
  if (body === undefined) {
    // A missing customer.yaml is reported where it should be.
    if (d.code !== 'customer-missing') problems.push(`${where}: ${r.file} is not a file of the workspace`);
    return;
  }
  let lineCount = lineCounts.get(r.file);
  if (lineCount === undefined) {
    lineCount = normaliseText(body).split('\n').length;
    lineCounts.set(r.file, lineCount);
  }
  if (line > lineCount) problems.push(`${where}: line ${line} is past the file's ${lineCount} lines`);
}

/**
 * Where the fast parser (js-yaml) and the guarded one (`yaml`) read a changed file differently: a failure, since a
 * file's meaning would change once an edit (an anchor, say) sent it down the other path. The two agree by
 * construction (engine/load/yaml-schema.ts, the fast path's exclusions); this proves it on every mutated file.
 */
function parserDisagreements(c: MutatedCase): string[] {
  const problems: string[] = [];
  for (const file of c.changed) {
    if (!/\.ya?ml$/.test(file)) continue;
    const text = normaliseText(c.files.get(file)!);
    if (textProblems(file, text).length) continue;
    const fast = parsers.fast(file, text);
    if (!fast) continue;
    const full = parsers.full(file, text);
    if (full.diagnostics.length)
      problems.push(
        `${file}: the fast parser reads it, the guarded one reports ${full.diagnostics.map(key).join('; ')}`,
      );
    else if (
      !isDeepStrictEqual(
        fast.docs.map((d) => d.value),
        full.docs.map((d) => d.value),
      )
    )
      problems.push(`${file}: the fast and the guarded parser read different values`);
  }
  return problems;
}

export interface CaseOptions {
  /** Also validate filling a content cache and reading it back (default true). */
  cache?: boolean;
  /** Also validate the line-ending twin (default true). */
  twin?: boolean;
}

/** Validate a case and check every promise; `root` is the folder the workspace claims to be (for messages). */
export async function runCase(root: string, c: MutatedCase, opts: CaseOptions = {}): Promise<CaseResult> {
  const problems: string[] = [];
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();

  // The slowest single validation is what a user waits for: the time limit is on it (a case validates four times).
  let slowest = 0;
  const timed = async (files: Map<string, string>, cache?: ContentCache) => {
    const t = performance.now();
    const v = await validate(root, files, c.env, c.changed, cache);
    slowest = Math.max(slowest, performance.now() - t);
    return v;
  };
  const plain = await timed(c.files);
  let heapPeak = process.memoryUsage().heapUsed;

  let exitCode: number = ExitCode.OK;
  let diagnostics: string[] = [];
  if ('exitCode' in plain) {
    exitCode = plain.exitCode;
    if (!DOCUMENTED.has(plain.exitCode)) problems.push(`exit ${plain.exitCode}: ${plain.message}`);
  } else {
    diagnostics = plain.diagnostics.map(key);
    exitCode = plain.diagnostics.some((d) => d.severity === 'error') ? ExitCode.FAILED : ExitCode.OK;
    const lineCounts: LineCounts = new Map();
    for (const d of plain.diagnostics) checkDiagnostic(d, c.files, lineCounts, problems);
  }
  if (opts.cache !== false) {
    const cache = ContentCache.inMemory();
    const filling = await timed(c.files, cache);
    const reading = await timed(c.files, cache);
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    const summary = (v: Awaited<ReturnType<typeof validate>>) =>
      'exitCode' in v ? [`exit ${v.exitCode}`] : v.diagnostics.map((d) => `${key(d)}\n${d.detail}`);
    if (!isDeepStrictEqual(summary(filling), summary(plain)))
      problems.push(`filling the content cache changes the result:\n  ${diff(summary(plain), summary(filling))}`);
    if (!isDeepStrictEqual(summary(reading), summary(plain)))
      problems.push(`reading the content cache changes the result:\n  ${diff(summary(plain), summary(reading))}`);
  }

  // The line-ending twin: the changed files with CRLF (even seeds) or CR (odd) line breaks.
  if (opts.twin !== false && c.changed.every((f) => !c.files.get(f)!.includes('\r'))) {
    const twin = new Map(c.files);
    const br = c.seed % 2 === 0 ? '\r\n' : '\r';
    for (const f of c.changed) twin.set(f, c.files.get(f)!.replace(/\n/g, br));
    const t = await timed(twin);
    const where = (v: Awaited<ReturnType<typeof validate>>) =>
      'exitCode' in v ? [`exit ${v.exitCode}`] : v.diagnostics.map((d) => key(d).split(' ').slice(0, 3).join(' '));
    if (!isDeepStrictEqual(where(t), where(plain)))
      problems.push(
        `${br === '\r' ? 'CR' : 'CRLF'} line breaks change the diagnostics:\n  ${diff(where(plain), where(t))}`,
      );
  }
  const disagreements = parserDisagreements(c);
  problems.push(...disagreements.map((d) => `the YAML parsers disagree: ${d}`));
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);

  const ms = performance.now() - t0;
  const heapMiB = Math.max(0, heapPeak - heap0) / 2 ** 20;
  if (slowest > MAX_MS) problems.push(`a validation took ${slowest.toFixed(0)} ms (limit ${MAX_MS})`);
  if (heapMiB > MAX_HEAP_MIB) problems.push(`grew the heap by ${heapMiB.toFixed(0)} MB (limit ${MAX_HEAP_MIB})`);
  return { problems, disagreements, diagnostics, ms, validationMs: slowest, heapMiB, exitCode };
}

/** The lines only one side has, marked - and +. */
function diff(a: string[], b: string[]): string {
  const out = [
    ...a.filter((x) => !b.includes(x)).map((x) => `- ${x}`),
    ...b.filter((x) => !a.includes(x)).map((x) => `+ ${x}`),
  ];
  return (out.length ? out : ['(the same lines, in another order or count)']).join('\n  ').slice(0, 2000);
}
