/**
 * `rsync watch`: validate a workspace and run its mapping tests, then again on every save, reporting only what
 * changed since the previous run. It owns the file watcher and the state of the last run (its diagnostics and
 * every test case's result); it reads the workspace through the same loader, validator and test runner as
 * `rsync validate` and `rsync test`, and never writes anything.
 *
 * A run after a save:
 *   1. waits until saves stop for `debounceMs` (editors write a file several times per save), and at least 55 ms
 *      after the first save: chokidar drops further changes of a file within 50 ms of the first one it reports, so
 *      a run that started earlier could read a half-written burst and never hear of the rest. A file can still be
 *      written again, unreported, during a run: 60 ms after the last event its mtime and size are compared with
 *      what the run read, and a file that moved on is run again,
 *   2. re-validates the whole workspace (a partial validation could miss a reference between files): after a
 *      YAML save it re-loads every file; when only .jsonata files changed it reuses the loaded documents with the
 *      new mapping texts (the YAML parse and template instantiation are most of a reload); when only fixture
 *      .json files changed, which nothing validates, it skips validation,
 *      and a save of nothing rsync reads (docs/*.yaml, a .json no test uses) starts no run at all,
 *   3. re-runs only the stale mapping tests (see staleTests in changes.ts),
 *   4. emits one WatchEvent with the differences.
 * Runs never overlap: saves during a run are queued for the next one.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { countDiagnostics } from '../diagnostics/diagnostic.js';
import { loadFromSource, type ParseCache } from '../load/loader.js';
import { FolderSource, wanted } from '../load/source.js';
import type { Compiled } from '../jsonata/index.js';
import { runMappingTests, type CaseResult } from '../mapping/test-runner.js';
import type { Workspace } from '../model/workspace.js';
import { validateWorkspace } from '../validate/validate.js';
import { inScope, openWorkspace } from '../workspace/open.js';
import { allFixtures, applyTestResults, diffDiagnostics, staleTests, type TestChanges } from './changes.js';

/** One run's report: at start, everything; after a save, what changed. */
export interface WatchEvent {
  version: 1;
  /** 0 for the first run, then 1, 2, … */
  run: number;
  /** 'start' for the first run; 'change' after saves. */
  trigger: 'start' | 'change';
  /** When the result was ready (ISO 8601). */
  at: string;
  /** Workspace-relative files saved, added or deleted since the previous run. */
  changed: string[];
  /** The run itself: load, validate and tests, in ms. */
  durationMs: number;
  /** From the first file event of the batch to the result, debounce included, in ms (after a save). */
  latencyMs?: number;
  /** Problems new since the previous run (at start: all of them), and problems gone. */
  diagnostics: { added: Diagnostic[]; fixed: Diagnostic[] };
  /** How many test cases ran, and those whose outcome changed (at start: every failing case). */
  tests: { ran: number } & TestChanges;
  /** The whole workspace after this run. */
  summary: { errors: number; warnings: number; tests: number; failing: number };
  /** Set when the run could not complete (the workspace is unreadable); the next save tries again. */
  error?: string;
}

export interface WatchOptions {
  /** The workspace, or a folder inside it (problems and tests are then limited to it, like `rsync validate <path>`). */
  path?: string;
  /** Quiet time after the last save before a run, in ms (default 30; a run also waits until 55 ms after the first save, see above). */
  debounceMs?: number;
  /** Called with every run's report. */
  onEvent: (event: WatchEvent) => void;
}

const SKIP_DIRS = new Set(['node_modules', '.git', '.rsync', '.build', 'coverage']);
const WATCHED = /\.(ya?ml|jsonata|json)$/;
/** chokidar reports one change of a file per 50 ms and drops the others (its `_throttle('change', path, 50)`). */
const CHOKIDAR_THROTTLE_MS = 50;

export class WorkspaceWatcher {
  private root = '';
  private scope?: string;
  private fsw?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private pending = new Set<string>();
  /** Files of a run that failed, carried into the next one. */
  private carry = new Set<string>();
  /** performance.now() of the first file event not yet reported. */
  private firstEventAt?: number;
  /** performance.now() of the latest file event not yet reported. */
  private lastEventAt = 0;
  /** The check for saves chokidar did not report (see the file comment). */
  private settle?: NodeJS.Timeout;
  private toCheck = new Map<string, string>();
  private running?: Promise<void>;
  private stopped = false;
  private runs = 0;

  private ws?: Workspace;
  /** The loader's own diagnostics of `ws` (validation adds to ws.diagnostics; a re-validation starts from these). */
  private loaded: Diagnostic[] = [];
  private mappings = new Map<string, Compiled>();
  private parsed: ParseCache = new Map();
  private diagnostics: Diagnostic[] = [];
  private cases = new Map<string, CaseResult>();

  constructor(private readonly opts: WatchOptions) {}

  /** The workspace's folder (after start). */
  get workspace(): string {
    return this.root;
  }

  /** How many runs were reported. */
  get runCount(): number {
    return this.runs;
  }

  /** Open the workspace, start watching, and report the first run. Throws RsyncError when there is no workspace. */
  async start(): Promise<WatchEvent> {
    const opened = await openWorkspace({ path: this.opts.path });
    this.root = opened.ws.source.root;
    this.scope = opened.scope;
    const fsw = watch(this.root, {
      ignoreInitial: true,
      // Editors' save-by-rename arrives as unlink + add within a millisecond or two; the debounce joins them, so
      // chokidar need not hold every unlink back for 100 ms.
      atomic: false,
      ignored: (p, stats) => {
        const rel = path.relative(this.root, p);
        if (!rel) return false;
        // Dependencies, state, build output and hidden folders (.git, .github, editors' own) hold nothing rsync loads.
        if (rel.split(path.sep).some((part) => SKIP_DIRS.has(part) || part.startsWith('.'))) return true;
        return Boolean(stats?.isFile()) && !WATCHED.test(p);
      },
    });
    this.fsw = fsw;
    fsw.on('all', (event, p) => {
      if (event === 'addDir') return;
      this.saw(path.relative(this.root, p).split(path.sep).join('/'), event === 'unlinkDir');
    });
    fsw.on('error', () => {}); // an unreadable folder is skipped, not fatal
    await new Promise<void>((resolve) => fsw.once('ready', () => resolve()));
    const event = await this.serial(() => this.first(opened.ws));
    return event!;
  }

  /** Stop watching; waits for a run in progress, and reports nothing after. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.settle) clearTimeout(this.settle);
    this.timer = this.settle = undefined;
    await this.fsw?.close();
    await this.running;
  }

  private saw(rel: string, dir: boolean): void {
    if (this.stopped || !rel) return;
    if (!dir && !WATCHED.test(rel)) return;
    this.pending.add(dir ? `${rel}/` : rel);
    this.firstEventAt ??= performance.now();
    this.lastEventAt = performance.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const now = performance.now();
    const wait = Math.max(this.opts.debounceMs ?? 30, (this.firstEventAt ?? now) + CHOKIDAR_THROTTLE_MS + 5 - now);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) return; // the run in progress schedules again when it ends
      void this.serial(() => this.next());
    }, wait);
  }

  private async serial(fn: () => Promise<WatchEvent | undefined>): Promise<WatchEvent | undefined> {
    let event: WatchEvent | undefined;
    const run = (async () => {
      event = await fn();
    })();
    this.running = run;
    try {
      await run;
    } finally {
      this.running = undefined;
    }
    if (event && !this.stopped) {
      this.runs++;
      this.opts.onEvent(event);
    }
    if (this.pending.size && !this.stopped) this.schedule();
    return event;
  }

  private async first(ws: Workspace): Promise<WatchEvent> {
    const started = performance.now();
    this.loaded = [...ws.diagnostics];
    const { diagnostics, mappings } = this.validate(ws);
    const report = await runMappingTests(ws, mappings, { scope: this.scope });
    this.ws = ws;
    this.mappings = mappings;
    this.diagnostics = diagnostics;
    const all = new Set(report.cases.map((c) => c.file));
    const changes = applyTestResults(this.cases, all, report.cases);
    return this.event(
      'start',
      [],
      started,
      { added: diagnostics, fixed: [] },
      { ran: report.cases.length, ...changes },
    );
  }

  private async next(): Promise<WatchEvent | undefined> {
    const batch = new Set([...this.carry, ...this.pending]);
    const firstAt = this.firstEventAt;
    const lastAt = this.lastEventAt;
    this.pending.clear();
    this.carry.clear();
    this.firstEventAt = undefined;
    const started = performance.now();
    const mtimes = await this.mtimes(batch);
    const before = this.ws!;
    const files = [...batch];
    const dirs = files.filter((f) => f.endsWith('/'));
    const yaml = files.some((f) => wanted(f) && !f.endsWith('.jsonata'));
    const jsonata = files.some((f) => wanted(f) && f.endsWith('.jsonata'));
    if (!dirs.length && !yaml && !jsonata) {
      const fixtures = allFixtures(before);
      if (!files.some((f) => fixtures.has(f))) return undefined; // nothing rsync reads (a .json no test uses, docs/*.yaml)
    }
    try {
      let ws = before;
      let mappings = this.mappings;
      let diagnostics = this.diagnostics;
      if (dirs.length || yaml) {
        ws = await this.load();
        ({ diagnostics, mappings } = this.validate(ws));
      } else if (jsonata) {
        ws = await this.withMappings(before, batch);
        ({ diagnostics, mappings } = this.validate(ws));
      }
      // A folder added, removed or renamed: every test may have moved; run them all.
      const stale = dirs.length
        ? new Set([...this.cases.values()].map((c) => c.file).concat(testFiles(ws)))
        : staleTests(batch, ws, before);
      const report = stale.size
        ? await runMappingTests(ws, mappings, { scope: this.scope, files: stale })
        : { cases: [] };
      const diff = diffDiagnostics(this.diagnostics, diagnostics);
      const changes = applyTestResults(this.cases, stale, report.cases);
      this.ws = ws;
      this.mappings = mappings;
      this.diagnostics = diagnostics;
      const event = this.event('change', [...batch].sort(), started, diff, { ran: report.cases.length, ...changes });
      if (firstAt !== undefined) event.latencyMs = round(performance.now() - firstAt);
      this.checkLater(mtimes, lastAt);
      return event;
    } catch (e) {
      // Typically a file deleted between listing and reading: the next save runs these files again.
      this.carry = batch;
      return {
        ...this.event(
          'change',
          [...batch].sort(),
          started,
          { added: [], fixed: [] },
          { ran: 0, failing: [], passing: [], removed: [] },
        ),
        error: (e as Error).message,
      };
    }
  }

  private async load(): Promise<Workspace> {
    const ws = await loadFromSource(new FolderSource(this.root), undefined, this.parsed);
    this.loaded = [...ws.diagnostics];
    return ws;
  }

  /** The loaded workspace with new texts for the saved .jsonata files (the loader reads those under integrations/ and templates/). */
  private async withMappings(ws: Workspace, batch: Set<string>): Promise<Workspace> {
    const files = new Map(ws.files);
    for (const f of batch) {
      if (!f.endsWith('.jsonata') || !wanted(f)) continue;
      const text = await readFile(path.join(this.root, f), 'utf8').catch(() => undefined);
      if (text === undefined) files.delete(f);
      else files.set(f, text);
    }
    // Fresh copies: the validator adds to ws.diagnostics and appends repeat counts to their details.
    return { ...ws, files, diagnostics: this.loaded.map((d) => ({ ...d })) };
  }

  private validate(ws: Workspace): { diagnostics: Diagnostic[]; mappings: Map<string, Compiled> } {
    const result = validateWorkspace(ws);
    const diagnostics = inScope(result.diagnostics, this.scope);
    return { diagnostics, mappings: result.mappings };
  }

  private event(
    trigger: WatchEvent['trigger'],
    changed: string[],
    started: number,
    diagnostics: WatchEvent['diagnostics'],
    tests: WatchEvent['tests'],
  ): WatchEvent {
    const counts = countDiagnostics(this.diagnostics);
    let failing = 0;
    for (const c of this.cases.values()) if (c.status !== 'passed') failing++;
    return {
      version: 1,
      run: this.runs,
      trigger,
      at: new Date().toISOString(),
      changed,
      durationMs: round(performance.now() - started),
      diagnostics,
      tests,
      summary: { ...counts, tests: this.cases.size, failing },
    };
  }

  /** mtime and size of each file (undefined when it does not exist). */
  private async mtimes(files: Set<string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      [...files]
        .filter((f) => !f.endsWith('/'))
        .map(async (f) => {
          const st = await stat(path.join(this.root, f)).catch(() => undefined);
          out.set(f, st ? `${st.mtimeMs}:${st.size}` : 'gone');
        }),
    );
    return out;
  }

  /** Once chokidar's 50 ms window after `lastAt` is over: files written since `read` was taken run again. */
  private checkLater(read: Map<string, string>, lastAt: number): void {
    for (const [f, m] of read) this.toCheck.set(f, m);
    if (this.settle) clearTimeout(this.settle);
    this.settle = setTimeout(
      async () => {
        this.settle = undefined;
        const read = new Map(this.toCheck);
        this.toCheck.clear();
        const now = await this.mtimes(new Set(read.keys()));
        if (this.stopped) return;
        const moved = [...now].filter(([f, m]) => m !== read.get(f) && !this.pending.has(f));
        if (!moved.length) return;
        for (const [f] of moved) this.pending.add(f);
        this.firstEventAt ??= performance.now();
        this.schedule();
      },
      Math.max(0, lastAt + CHOKIDAR_THROTTLE_MS + 10 - performance.now()),
    );
  }
}

function testFiles(ws: Workspace): string[] {
  const out: string[] = [];
  for (const t of ws.templateTests) out.push(t.origin.doc.file);
  for (const c of ws.customers.values()) for (const t of c.mappingTests) out.push(t.origin.doc.file);
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
