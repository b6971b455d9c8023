/**
 * A strict parser of Prometheus's text exposition format (version 0.0.4), for the tests and the benchmark of
 * `GET /metrics`: prom-client writes the format but cannot read it, and no parser library is installed.
 *
 * The rules checked, from Prometheus's "Exposition formats" page: a line is `# HELP <name> <text>`, `# TYPE <name>
 * <counter|gauge|histogram|summary|untyped>`, another comment, blank, or a sample `<name>[{<labels>}] <value>
 * [<timestamp>]`; names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (not starting with
 * __), label values are double-quoted with only \\, \" and \n escaped; a value is a Go float (NaN, +Inf, -Inf
 * included, in any case as Go's ParseFloat reads them); TYPE and HELP come at most once per family and TYPE before its samples; a family's samples are
 * together; no series appears twice; a histogram's buckets carry `le`, are cumulative, and its +Inf bucket equals
 * its _count. Anything else throws, naming the line.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, where: string): number {
  // Go's strconv.ParseFloat, which Prometheus reads values with: NaN and Inf in any case (prom-client writes "Nan").
  if (/^nan$/i.test(s)) return Number.NaN;
  if (/^\+?inf(inity)?$/i.test(s)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(s)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s))
    throw new Error(`${where}: ${JSON.stringify(s)} is not a value`);
  return Number(s);
}

/** The labels of `{...}` starting at text[0] === '{'; returns them and the rest after '}'. */
function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: a label without =`);
    const name = text.slice(i, eq).trim();
    if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label ${name}'s value is not quoted`);
    let v = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\n') throw new Error(`${where}: a raw newline in a label value`);
      if (text[j] !== '\\') {
        v += text[j];
        continue;
      }
      const e = text[++j];
      if (e === '\\') v += '\\';
      else if (e === '"') v += '"';
      else if (e === 'n') v += '\n';
      else throw new Error(`${where}: bad escape \\${e} in label ${name}`);
    }
    if (text[j] !== '"') throw new Error(`${where}: label ${name}'s value is not closed`);
    labels[name] = v;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

/** The family a sample's name belongs to: a histogram's _bucket, _sum and _count belong to its base name. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  if (text.length && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  text.split('\n').forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // another comment
      const [, what, name, rest = ''] = m;
      if (!METRIC.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
      let f = families.get(name);
      if (f && closed.has(name)) throw new Error(`${where}: ${name} again after its samples ended`);
      if (!f) {
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      if (what === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${JSON.stringify(rest)}`);
        if (f.samples.length || (f as { typed?: boolean }).typed)
          throw new Error(`${where}: TYPE of ${name} late or twice`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest;
      } else {
        if (f.help !== undefined) throw new Error(`${where}: HELP of ${name} twice`);
        f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      if (current && current !== f) closed.add(current.name);
      current = f;
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd < 0) throw new Error(`${where}: a sample without a value`);
    const name = line.slice(0, nameEnd);
    if (!METRIC.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
    let rest = line.slice(nameEnd);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
    const parts = rest.trim().split(/ +/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`${where}: bad sample ${line}`);
    const value = parseValue(parts[0], where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    let f = familyOf(name, families);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    if (closed.has(f.name)) throw new Error(`${where}: ${f.name}'s samples are not together`);
    if (current && current !== f) closed.add(current.name);
    current = f;
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(id)) throw new Error(`${where}: the series ${name}${JSON.stringify(labels)} twice`);
    seen.add(id);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      g.buckets.push([parseValue(le, f.name), s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
  }
  for (const [key, g] of groups) {
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i][1] < sorted[i - 1][1]) throw new Error(`${f.name}${key}: buckets are not cumulative`);
    if (g.count !== sorted.at(-1)?.[1]) throw new Error(`${f.name}${key}: the +Inf bucket is not the count`);
  }
}

/** The value of the one sample of `name` whose labels include `labels` (0 when there is none); throws when several. */
export function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = familyOf(name, families);
  const hits = (f?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${hits.length} series`);
  return hits[0]?.value ?? 0;
}

/** The sum of every sample of `name` whose labels include `labels`. */
export function sumOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = familyOf(name, families);
  return (f?.samples ?? [])
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
