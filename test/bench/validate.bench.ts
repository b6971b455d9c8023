/**
 * The `rsync validate` benchmark: measure the built CLI the way a user runs it, and break the time down by
 * calling the engine's functions one by one from the outside (no engine file is instrumented).
 *
 *   measureCli(...)     one `node cli/bin/run.js validate <dir> --json` in a fresh process: wall time from spawn
 *                       to exit, and peak RSS (GNU time's ru_maxrss, else /proc/<pid>/status VmHWM polling)
 *   breakdown(...)      one cold in-process run in a fresh process (this file with --breakdown <dir>):
 *                       read files, parse YAML, classify, templates, Ajv compile, schema checks, secrets,
 *                       JSONata compiles and the remaining semantic checks, in wall and CPU time, with heap and
 *                       RSS along the way
 *
 * run.ts drives both; this file is also the entry point of the breakdown's child process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/cli.js';

/** The project root (the folder with package.json and cli/), from .build/test/bench/ or test/bench/. */
export function projectRoot(): string {
  return ROOT;
}

// --- the machine ---------------------------------------------------------------------------------------------------

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  os: string;
  node: string;
}

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return {
    cpu,
    cores,
    memGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

// --- the CLI run ---------------------------------------------------------------------------------------------------

export type RssMethod = 'gnu-time' | 'proc-vmhwm';

/** GNU time with -v, when installed (BusyBox's and the shell keyword do not have it). */
export function rssMethod(): RssMethod {
  if (existsSync('/usr/bin/time')) {
    const r = spawnSync('/usr/bin/time', ['-v', 'true'], { encoding: 'utf8' });
    if (r.status === 0 && /Maximum resident set size/.test(r.stderr)) return 'gnu-time';
  }
  return 'proc-vmhwm';
}

export interface CliRun {
  wallMs: number;
  /** Peak resident set size of the node process, in KiB. */
  maxRssKiB: number;
  userS?: number;
  sysS?: number;
  exitCode: number | null;
  result?: {
    valid: boolean;
    summary: Record<string, number>;
    diagnostics: { code?: string; summary?: string; severity?: string; range?: unknown }[];
  };
  stderr: string;
}

/**
 * `node [nodeArgs] cli/bin/run.js validate <dir> --json` from the project root, in a fresh process. Wall time runs
 * from spawn to exit (GNU time's own fork/exec adds well under a millisecond).
 */
export function measureCli(root: string, dir: string, method: RssMethod, nodeArgs: string[] = []): Promise<CliRun> {
  const args = [...nodeArgs, 'cli/bin/run.js', 'validate', dir, '--json'];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rsync-bench-time-'));
  const timeFile = path.join(tmp, 'time.txt');
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child =
      method === 'gnu-time'
        ? spawn('/usr/bin/time', ['-v', '-o', timeFile, process.execPath, ...args], {
            cwd: root,
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        : spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // Fallback: poll the high-water mark; the last read before exit is the peak (to within the poll interval).
    let hwm = 0;
    const poll =
      method === 'proc-vmhwm'
        ? setInterval(() => {
            try {
              const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
              if (m) hwm = Math.max(hwm, Number(m[1]));
            } catch {
              // exited
            }
          }, 5)
        : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      if (poll) clearInterval(poll);
      let maxRssKiB = hwm;
      let userS: number | undefined;
      let sysS: number | undefined;
      let exitCode = code;
      if (method === 'gnu-time') {
        const t = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
        maxRssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)?.[1] ?? 0);
        userS = Number(/User time \(seconds\): ([\d.]+)/.exec(t)?.[1] ?? NaN);
        sysS = Number(/System time \(seconds\): ([\d.]+)/.exec(t)?.[1] ?? NaN);
        const status = /Exit status: (\d+)/.exec(t);
        if (status) exitCode = Number(status[1]);
        if (/Command terminated by signal/.test(t)) exitCode = null;
      }
      rmSync(tmp, { recursive: true, force: true });
      const stdout = Buffer.concat(out).toString('utf8');
      let result: CliRun['result'];
      try {
        result = JSON.parse(stdout);
      } catch {
        result = undefined;
      }
      resolve({ wallMs, maxRssKiB, userS, sysS, exitCode, result, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

// --- the in-process breakdown --------------------------------------------------------------------------------------

export interface Step {
  step: string;
  how: string;
  /** Cold, in the CLI's order: wall and CPU ms. */
  cold?: { ms: number; cpuMs: number };
  /** Measured alone, after the cold pass (JIT warm): wall and CPU ms. */
  alone?: { ms: number; cpuMs: number };
  /** A derived figure (a cold total minus parts measured alone), not a measurement. */
  derived?: boolean;
  /** Part of the total below it (indented in the table). */
  part?: boolean;
}

export interface Breakdown {
  steps: Step[];
  memory: { at: string; heapMiB: number; rssMiB: number }[];
  counts: Record<string, number>;
  diagnostics: { errors: number; warnings: number };
}

/** Run `this file --breakdown <dir>` in a fresh node (with --expose-gc, for retained-heap figures). */
export function breakdownInChild(root: string, dir: string): Breakdown {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--expose-gc', self, '--breakdown', dir], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0)
    throw new Error(`breakdown failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return JSON.parse(r.stdout) as Breakdown;
}

/**
 * First the engine's own functions, cold, in the order the CLI calls them (read, loadFromSource, Ajv,
 * validateWorkspace); then what they are made of, each engine function called alone over the whole workspace
 * (results kept alive where the engine keeps them). "rest" rows are the cold total minus the parts measured alone,
 * so they include the cold run's JIT and GC warm-up.
 */
async function breakdown(dir: string): Promise<Breakdown> {
  const steps: Step[] = [];
  const memory: Breakdown['memory'] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const mem = (at: string) => {
    gc?.();
    const m = process.memoryUsage();
    memory.push({ at, heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20 });
  };
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  type T = { ms: number; cpuMs: number };
  const time = async <V>(fn: () => V | Promise<V>): Promise<[V, T]> => {
    const t = performance.now();
    const c = cpuNow();
    const v = await fn();
    return [v, { ms: performance.now() - t, cpuMs: cpuNow() - c }];
  };
  const minus = (a: T, ...bs: T[]): T => ({
    ms: a.ms - bs.reduce((n, b) => n + b.ms, 0),
    cpuMs: a.cpuMs - bs.reduce((n, b) => n + b.cpuMs, 0),
  });

  const startT: T = { ms: performance.now(), cpuMs: cpuNow() };
  const [mods, importT] = await time(async () => ({
    loader: await import('../../engine/load/loader.js'),
    source: await import('../../engine/load/source.js'),
    yaml: await import('../../engine/load/yaml.js'),
    templates: await import('../../engine/load/templates.js'),
    validate: await import('../../engine/validate/validate.js'),
    schema: await import('../../engine/validate/schema.js'),
    secrets: await import('../../engine/validate/secrets.js'),
    jsonata: await import('../../engine/jsonata/index.js'),
    model: await import('../../engine/model/workspace.js'),
    resolve: await import('../../engine/model/resolve.js'),
    catalog: await import('../../engine/connectors/catalog.js'),
  }));
  mem('after imports');

  // --- the cold pass, as the CLI runs it ---------------------------------------------------------------------------
  const folder = new mods.source.FolderSource(path.resolve(dir));
  const [files, readT] = await time(() => folder.files());
  const cached: typeof folder = Object.assign(Object.create(Object.getPrototypeOf(folder)), folder, {
    files: async () => files,
  });
  mem('after reading the files');
  const [ws, loadT] = await time(() => mods.loader.loadFromSource(cached));
  mem('after loadFromSource (workspace retained)');
  // Ajv compiles on first use inside validateWorkspace; compiled here first so it gets its own line.
  const [, ajvT] = await time(() => {
    for (const k of mods.model.KINDS) mods.schema.kindValidator(k);
    for (const c of Object.values(mods.catalog.CONNECTORS)) mods.schema.validatorForSchema(c.settings);
  });
  let [result, validateT] = await time(() => mods.validate.validateWorkspace(ws));
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = result.diagnostics.length - errors;
  mem('after validateWorkspace (result retained)');
  result = undefined as unknown as typeof result;
  gc?.();

  // --- the parts, alone ----------------------------------------------------------------------------------------------
  const yamlFiles = [...files].filter(([f]) => /\.ya?ml$/.test(f));
  let kept: unknown[] | undefined = [];
  const [, parseT] = await time(() => {
    for (const [f, text] of yamlFiles) kept!.push(mods.yaml.parseYamlFile(f, text));
  });
  kept = undefined;
  gc?.();
  let templateFlows = 0;
  for (const c of ws.customers.values()) {
    for (const [name, r] of c.flows) {
      if (r.template) {
        c.flows.delete(name);
        templateFlows++;
      }
    }
  }
  const diagsBefore = ws.diagnostics.length;
  const [, templatesT] = await time(() => mods.templates.instantiateTemplates(ws));
  let templateFlowsAfter = 0;
  for (const c of ws.customers.values()) for (const r of c.flows.values()) if (r.template) templateFlowsAfter++;
  if (templateFlowsAfter !== templateFlows || ws.diagnostics.length !== diagsBefore)
    throw new Error('re-instantiating the templates did not give the same flows');

  const resources = mods.model.allResources(ws);
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const [schemaFailures, schemaT] = await time(() => {
    let bad = 0;
    for (const r of resources) {
      const value: Record<string, unknown> = {
        apiVersion: r.apiVersion,
        kind: r.kind,
        metadata: r.metadata,
        spec: r.spec,
      };
      const raw = r.origin.doc.value;
      if (!r.template && isObject(raw)) {
        Object.assign(value, raw, { spec: r.spec });
        if (!('apiVersion' in raw)) delete value.apiVersion;
        if (!('metadata' in raw)) delete value.metadata;
        if (!('spec' in raw)) delete value.spec;
      }
      if (!mods.schema.kindValidator(r.kind)(value)) bad++;
      if (r.kind === 'Connection' && typeof r.spec.connector === 'string') {
        const spec = mods.catalog.connectorSpec(r.spec.connector);
        if (spec && !mods.schema.validatorForSchema(spec.settings)(isObject(r.spec.settings) ? r.spec.settings : {}))
          bad++;
      }
    }
    return bad;
  });
  const [secretFindings, secretsT] = await time(() => {
    let n = 0;
    for (const r of resources)
      n += mods.secrets.findLiteralSecrets(r.template ? { spec: r.spec } : r.origin.doc.value).length;
    return n;
  });
  const jsonataFiles = [...files].filter(([f]) => f.endsWith('.jsonata'));
  let compiled: Map<string, unknown> | undefined = new Map();
  const [mappingFailures, mappingsT] = await time(() => {
    let bad = 0;
    for (const [f, text] of jsonataFiles) {
      const c = mods.jsonata.compile(text);
      compiled!.set(f, c);
      if (!c.ok) bad++;
      else {
        mods.jsonata.nondeterministicCalls(c.expr);
        mods.jsonata.outputFields(c.expr);
      }
    }
    return bad;
  });
  compiled = undefined;
  gc?.();
  const flows = resources.filter((r) => r.kind === 'Flow');
  const distinctKeys = new Set(flows.map((f) => f.spec.key)).size;
  const [keyFailures, keysT] = await time(() => {
    let bad = 0;
    for (const f of flows) if (typeof f.spec.key === 'string' && !mods.jsonata.compile(f.spec.key).ok) bad++;
    return bad;
  });
  // checkCron caches by (expression, time zone) in its module; a second instance of the module starts empty.
  const fresh = (await import(
    `../../engine/validate/schedule.js?alone=${Date.now()}`
  )) as typeof import('../../engine/validate/schedule.js');
  const schedules = flows.flatMap((f) => {
    const t = f.spec.trigger as { schedule?: { cron?: unknown } } | undefined;
    return t && isObject(t.schedule) && typeof t.schedule.cron === 'string'
      ? [[t.schedule.cron, mods.resolve.timezoneOf(ws, f)] as const]
      : [];
  });
  const distinctCron = new Set(schedules.map(([c, z]) => `${c}\u0000${z}`)).size;
  const [, cronT] = await time(() => {
    for (const [c, z] of schedules) if (fresh.isValidTimeZone(z)) fresh.checkCron(c, z);
  });

  const add = (step: string, how: string, t: Partial<Step>) => steps.push({ step, how, ...t });
  add('node start → benchmark script', 'performance.now(), process.cpuUsage() at entry', { cold: startT });
  add('import engine modules', 'dynamic import of loader, validate, schema, …', { cold: importT });
  add('read files', `FolderSource.files(): ${files.size} files`, { cold: readT });
  add('parse YAML', `parseYamlFile × ${yamlFiles.length} (documents kept)`, { alone: parseT, part: true });
  add('instantiate templates', `instantiateTemplates: ${templateFlows} flows`, { alone: templatesT, part: true });
  add('rest: classify, register, warm-up', 'loadFromSource cold − the parts above', {
    cold: minus(loadT, parseT, templatesT),
    part: true,
    derived: true,
  });
  add('loadFromSource', 'the files already read', { cold: loadT });
  add('compile JSON Schemas (Ajv)', 'kindValidator × 8 + connector settings × 12, first use', { cold: ajvT });
  add(
    'schema checks',
    `kind schema × ${resources.length} + connector settings × ${resources.filter((r) => r.kind === 'Connection').length}`,
    { alone: schemaT, part: true },
  );
  add('secret scan', `findLiteralSecrets × ${resources.length}`, { alone: secretsT, part: true });
  add('JSONata: compile mappings', `compile + outputFields + nondeterministicCalls × ${jsonataFiles.length} (kept)`, {
    alone: mappingsT,
    part: true,
  });
  add('JSONata: compile flow keys', `compile × ${flows.length} keys (${distinctKeys} distinct)`, {
    alone: keysT,
    part: true,
  });
  add('cron checks', `checkCron × ${schedules.length} schedules (${distinctCron} distinct with zone), empty cache`, {
    alone: cronT,
    part: true,
  });
  add('rest: refs, capabilities, SLA, governance, warm-up', 'validateWorkspace cold − the parts above', {
    cold: minus(validateT, schemaT, secretsT, mappingsT, keysT, cronT),
    part: true,
    derived: true,
  });
  add('validateWorkspace', 'with Ajv already compiled', { cold: validateT });
  const totalT: T = {
    ms: importT.ms + readT.ms + loadT.ms + ajvT.ms + validateT.ms,
    cpuMs: importT.cpuMs + readT.cpuMs + loadT.cpuMs + ajvT.cpuMs + validateT.cpuMs,
  };
  add('in-process total', 'imports + read + loadFromSource + Ajv + validateWorkspace', { cold: totalT });

  return {
    steps,
    memory,
    counts: {
      files: files.size,
      yamlFiles: yamlFiles.length,
      jsonataFiles: jsonataFiles.length,
      distinctJsonataTexts: new Set(jsonataFiles.map(([, t]) => t)).size,
      resources: resources.length,
      flows: flows.length,
      distinctKeys,
      templateFlows,
      schemaFailures,
      secretFindings,
      jsonataFailures: mappingFailures + keyFailures,
    },
    diagnostics: { errors, warnings },
  };
}

// Entry point of the breakdown's child process.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--breakdown') {
  const dir = process.argv[3];
  breakdown(dir).then(
    (b) => process.stdout.write(JSON.stringify(b) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(2);
    },
  );
}
