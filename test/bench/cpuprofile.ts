/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time, self time by file or
 * package, and the inclusive time of the project's own functions (engine/, cli/).
 *
 *   node .build/test/bench/cpuprofile.js <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  where: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  self: Row[];
  byFile: Row[];
  inclusive: Row[];
}

/** A short place: node_modules/<pkg>/…, the project-relative path, or node:internal. */
function shortUrl(url: string, root: string): string {
  if (!url) return '';
  let p = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) return p.slice(nm + 1);
  if (p.startsWith(root + '/')) p = p.slice(root.length + 1);
  return p;
}

/** The package or project file a frame belongs to, for the by-file table. */
function area(url: string, root: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
  const s = shortUrl(url, root);
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(s);
  if (m) return `${m[1]} (${m[2].split('/').slice(-1)[0]})`;
  if (s.startsWith('node:')) return 'node internals';
  return s;
}

export function summarise(file: string, root: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Sample i lasts until sample i+1 (as DevTools counts it); the last one gets the mean.
  const ts: number[] = [];
  let t = p.startTime;
  for (const d of p.timeDeltas) ts.push((t += d));
  const dur = (i: number) =>
    i + 1 < ts.length ? ts[i + 1] - ts[i] : (p.endTime - p.startTime) / Math.max(1, ts.length);
  const totalUs = p.endTime - p.startTime;

  const key = (cf: CallFrame) =>
    `${cf.functionName || '(anonymous)'}\u0000${shortUrl(cf.url, root)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const incl = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const d = dur(i);
    const node = byId.get(p.samples[i]);
    if (!node) continue;
    const cf = node.callFrame;
    self.set(key(cf), (self.get(key(cf)) ?? 0) + d);
    const a = area(cf.url, root, cf.functionName);
    files.set(a, (files.get(a) ?? 0) + d);
    // Inclusive: every project function on the stack, once per sample.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      const s = shortUrl(f.url, root);
      if (!/^\.build\/(engine|cli)\//.test(s)) continue;
      const k = key(f);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + d);
    }
  }
  const rows = (m: Map<string, number>, n: number): Row[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => {
        const [name, where = ''] = k.split('\u0000');
        return { name, where, ms: us / 1000, share: us / totalUs };
      });
  return { totalMs: totalUs / 1000, self: rows(self, top), byFile: rows(files, 15), inclusive: rows(incl, 20) };
}

export function formatSummary(s: ProfileSummary): string {
  const table = (title: string, rows: Row[], withWhere: boolean) => {
    const lines = [
      `${title}`,
      `  ${'ms'.padStart(8)} ${'share'.padStart(6)}  ${withWhere ? 'function  (file:line)' : 'file or package'}`,
    ];
    for (const r of rows) {
      lines.push(
        `  ${r.ms.toFixed(0).padStart(8)} ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.name}${withWhere && r.where ? `  (${r.where})` : ''}`,
      );
    }
    return lines.join('\n');
  };
  return [
    `profile: ${s.totalMs.toFixed(0)} ms sampled`,
    table('top self time, by function', s.self, true),
    table('self time, by file or package', s.byFile, false),
    table('inclusive time of project functions (engine/, cli/)', s.inclusive, true),
  ].join('\n\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node .build/test/bench/cpuprofile.js <file.cpuprofile> [top]\n');
    process.exit(64);
  }
  process.stdout.write(formatSummary(summarise(file, process.cwd(), n ? Number(n) : 25)) + '\n');
}
