/**
 * Lineage: which paths of the input flow into each field an expression outputs, read from jsonata's AST before
 * anything runs. The PII check (engine/validate/) matches a policy's PII paths against it; `rsync explain mapping`
 * prints it.
 *
 * It is an abstract evaluation: every node gives a value that says what of the input it may be (`reads`: input
 * paths, each where it is read in the text and what it passed through on the way) and, for an object it builds, its
 * fields. Data flows through path steps, variables (`:=`, a lambda's parameters, `@$v` focus), calls of built-in
 * functions that transform their argument ($string, $uppercase, $join, $substring…) and of the expression's own
 * lambdas (evaluated with their arguments, closures and recursion bounded), `&` and arithmetic, both branches of a
 * condition (`? :`, `??`, `?:`), object and array constructors, blocks, `$map`/`$filter`/`$reduce` with their
 * lambdas, and `~>`. What only tests or counts a value does not carry it: a condition's test, a filter predicate, a
 * sort key, comparisons, `and`/`or`, $count, $exists, $boolean, $type, $length, $contains.
 *
 * Where the expression itself does not say which paths flow (a `$lookup` key or an object key computed at run time,
 * `$eval`, `$spread`, `$keys`, `$each` or `$sift` over an object whose fields it does not name, a call of a
 * function it did not define), the read is kept and marked `undecided` with the reason, never guessed away.
 * Over-approximation is the safe side: a transform's deletions (`| $ | {}, ['email'] |`) are not subtracted.
 *
 * Layer 0: nothing of rsync's (engine/jsonata/index.ts).
 */
import type { Expression } from './expression.js';

/** One input path reaching an output field. */
export interface LineageSource {
  /**
   * The input path, dotted from the record's root (`customer.email`, `line_items.sku`); `` is the whole record, a
   * `*` segment any field of the object before it, `**` anything below it.
   */
  path: string;
  /** Where the path is read in the text: 0-based character offsets, and 1-based line and column of the start. */
  start: number;
  end: number;
  line: number;
  column: number;
  /** What it passed through on the way, in order: `$contact`, `&`, `$uppercase()`, `? :`, `function($s)`. */
  via: string[];
  /** Set when the expression does not decide whether this path flows (or which field of it): why. */
  undecided?: string;
}

/** One output field and the input paths that reach it. */
export interface LineageField {
  /** Dotted output path (`customer.email`); `` is the whole output, a `*` segment a key computed at run time. */
  field: string;
  /** Where its value expression is written (0-based offset, 1-based line and column), when it is a constructor's. */
  start?: number;
  line?: number;
  column?: number;
  sources: LineageSource[];
}

export interface Lineage {
  fields: LineageField[];
}

// --- the abstract values --------------------------------------------------------------------------------------------

type Ast = any; // jsonata's parser output (engine/jsonata/ast.ts)

interface Read {
  path: string;
  /** The value is the input at `path` itself (navigable), not something computed from it. */
  exact: boolean;
  /** -1 until the read surfaces in the text (the record's root). */
  start: number;
  end: number;
  via: string[];
  undecided?: string;
}

interface Slot {
  val: Val;
  start: number;
}

type Fn =
  | { kind: 'lambda'; params: string[]; body: Ast; env: Env; ctx: Val; label: string }
  | { kind: 'builtin'; name: string }
  | { kind: 'transform'; node: Ast; env: Env; ctx: Val }
  /** A partial application or anything else whose body is not known: what it was given flows out. */
  | { kind: 'opaque'; carries: Val; label: string };

interface Val {
  reads: Read[];
  fields?: Map<string, Slot>;
  fns?: Fn[];
}

class Env {
  private readonly vars = new Map<string, Val>();
  constructor(private readonly parent?: Env) {}
  get(name: string): Val | undefined {
    return this.vars.get(name) ?? this.parent?.get(name);
  }
  set(name: string, v: Val): void {
    this.vars.set(name, v);
  }
}

const EMPTY: Val = { reads: [] };
const MAX_VIA = 8;
/** Nested calls of the expression's own lambdas followed before the result is called undecided (recursion). */
const MAX_DEPTH = 12;
/** Nodes evaluated in all before the analysis gives up on the rest as undecided (a pathological expression). */
const MAX_STEPS = 200_000;
/** Output objects nested deeper than this are not listed field by field. */
const MAX_NESTING = 64;

function union(...vals: Val[]): Val {
  const live = vals.filter((v) => v.reads.length || v.fields?.size || v.fns?.length);
  if (live.length <= 1) return live[0] ?? EMPTY;
  const reads: Read[] = [];
  const seen = new Set<string>();
  let fields: Map<string, Slot> | undefined;
  const fns: Fn[] = [];
  for (const v of live) {
    for (const r of v.reads) {
      const k = `${r.path}|${r.start}|${r.exact}|${r.undecided ?? ''}`;
      if (seen.has(k)) continue;
      seen.add(k);
      reads.push(r);
    }
    if (v.fields)
      for (const [name, slot] of v.fields) {
        fields ??= new Map();
        const had = fields.get(name);
        fields.set(name, had ? { val: union(had.val, slot.val), start: had.start } : slot);
      }
    if (v.fns) for (const f of v.fns) if (!fns.includes(f)) fns.push(f);
  }
  return { reads, fields, fns: fns.length ? fns : undefined };
}

/** Every read of `v` (its fields' too), as data computed from it: what flows out of an operator or a function. */
function derived(v: Val, hop?: string, undecided?: string): Val {
  const reads: Read[] = [];
  collectReads(v, reads, new Set());
  if (!reads.length) return EMPTY;
  return {
    reads: reads.map((r) => ({
      ...r,
      exact: false,
      via: hop ? addVia(r.via, hop) : r.via,
      undecided: r.undecided ?? undecided,
    })),
  };
}

function collectReads(v: Val, out: Read[], seen: Set<Val>): void {
  if (seen.has(v)) return;
  seen.add(v);
  for (const r of v.reads) out.push(r);
  if (v.fields) for (const s of v.fields.values()) collectReads(s.val, out, seen);
  if (v.fns) for (const f of v.fns) if (f.kind === 'opaque') collectReads(f.carries, out, seen);
}

function addVia(via: string[], hop: string): string[] {
  if (via[via.length - 1] === hop || via.length >= MAX_VIA) return via;
  return [...via, hop];
}

function withVia(v: Val, hop: string): Val {
  if (!v.reads.length && !v.fields?.size) return v;
  return {
    reads: v.reads.map((r) => ({ ...r, via: addVia(r.via, hop) })),
    fields: v.fields && new Map([...v.fields].map(([k, s]) => [k, { ...s, val: withVia(s.val, hop) }])),
    fns: v.fns,
  };
}

/** Reads of `v` not yet placed in the text get the span [start, end): `$` or `$$` where the record itself surfaces. */
function surface(v: Val, start: number, end: number): Val {
  if (!v.reads.some((r) => r.start < 0)) return v;
  return { ...v, reads: v.reads.map((r) => (r.start < 0 ? { ...r, start, end } : r)) };
}

function undecide(v: Val, why: string): Val {
  return { reads: v.reads.map((r) => ({ ...r, undecided: r.undecided ?? why })), fields: v.fields, fns: v.fns };
}

const join = (a: string, b: string) => (a ? `${a}.${b}` : b);

// --- the built-in functions ---------------------------------------------------------------------------------------

/** Operators whose result is computed from their operands' values; the others (= != < <= > >= and or in) give a boolean. */
const CARRYING_OPERATORS = new Set(['&', '+', '-', '*', '/', '%', '..']);

/** Built-ins whose result tests, counts or describes their arguments: no value of them flows out. */
const NO_DATA = new Set([
  'count',
  'exists',
  'boolean',
  'not',
  'type',
  'length',
  'contains',
  'error',
  'assert',
  'now',
  'millis',
  'random',
]);

/** Built-ins that give back (some of) the items of their first argument, as they are: navigable after the call. */
const SAME_ITEMS = new Set(['append', 'reverse', 'shuffle', 'distinct', 'sort', 'single', 'filter']);

/**
 * Built-ins whose result is computed from their arguments' values (strings, numbers, arrays of them): data flows
 * through. A built-in not named here or above is treated the same (its arguments flow), but marked undecided.
 */
const CARRY = new Set([
  'string',
  'substring',
  'substringBefore',
  'substringAfter',
  'uppercase',
  'lowercase',
  'trim',
  'pad',
  'split',
  'join',
  'match',
  'replace',
  'base64encode',
  'base64decode',
  'encodeUrlComponent',
  'encodeUrl',
  'decodeUrlComponent',
  'decodeUrl',
  'formatNumber',
  'formatBase',
  'formatInteger',
  'parseInteger',
  'number',
  'abs',
  'floor',
  'ceil',
  'round',
  'power',
  'sqrt',
  'sum',
  'max',
  'min',
  'average',
  'zip',
  'fromMillis',
  'toMillis',
]);

// --- the evaluation -----------------------------------------------------------------------------------------------

class Analysis {
  private steps = 0;
  constructor(
    private readonly text: string,
    private readonly root: Val,
  ) {}

  /** The 0-based start of a node in the text, from jsonata's `position` (the offset just after its token). */
  startOf(node: Ast): number {
    if (!node || typeof node !== 'object') return 0;
    const p = typeof node.position === 'number' ? node.position : undefined;
    if (node.type === 'path' && Array.isArray(node.steps) && node.steps.length) return this.startOf(node.steps[0]);
    if (node.type === 'binary' || node.type === 'apply' || node.type === 'bind') return this.startOf(node.lhs);
    if (node.type === 'condition') return this.startOf(node.condition);
    if (node.type === 'function' || node.type === 'partial') return this.startOf(node.procedure);
    if (p === undefined) return 0;
    if (node.type === 'name') {
      const v = String(node.value);
      return this.text.slice(p - v.length, p) === v ? p - v.length : Math.max(0, p - v.length - 2); // `quoted name`
    }
    if (node.type === 'variable') return Math.max(0, p - String(node.value).length - 1);
    if (node.type === 'string') return Math.max(0, this.text.lastIndexOf(this.text[p - 1] ?? '"', p - 2));
    if (node.type === 'number' || node.type === 'value') return Math.max(0, p - String(node.value).length);
    return Math.max(0, p - 1);
  }

  /** The 0-based end of a node (just after its last token), as far as the AST tells. */
  endOf(node: Ast): number {
    if (!node || typeof node !== 'object') return 0;
    if (node.type === 'path' && Array.isArray(node.steps) && node.steps.length)
      return this.endOf(node.steps[node.steps.length - 1]);
    if (node.type === 'binary' || node.type === 'apply') return this.endOf(node.rhs);
    return typeof node.position === 'number' ? node.position : this.startOf(node) + 1;
  }

  eval(node: Ast, ctx: Val, env: Env, depth: number): Val {
    if (!node || typeof node !== 'object') return EMPTY;
    if (++this.steps > MAX_STEPS) return undecide(derived(ctx), 'the expression is too large to follow');
    switch (node.type) {
      case 'string':
      case 'number':
      case 'value':
      case 'regex':
      case 'operator': // `?`, a partial application's placeholder
        return EMPTY;
      case 'path':
        return this.path(node, ctx, env, depth);
      case 'name':
        return this.step(node, ctx, env, depth, this.startOf(node));
      case 'variable':
        return this.variable(node, ctx, env);
      case 'wildcard':
      case 'descendant':
      case 'parent':
        return this.step(node, ctx, env, depth, this.startOf(node));
      case 'binary':
        return this.binary(node, ctx, env, depth);
      case 'unary':
        return this.unary(node, ctx, env, depth);
      case 'block': {
        const inner = new Env(env);
        let last = EMPTY;
        for (const e of node.expressions ?? []) last = this.eval(e, ctx, inner, depth);
        return last;
      }
      case 'bind': {
        const v = this.eval(node.rhs, ctx, env, depth);
        const name = String(node.lhs?.value ?? '');
        env.set(name, withVia(v, `$${name}`));
        return v;
      }
      case 'condition': {
        // The test decides which branch, it is not itself the value (`email ? 'yes' : 'no'` carries no e-mail).
        const then = this.eval(node.then, ctx, env, depth);
        const otherwise = node.else ? this.eval(node.else, ctx, env, depth) : EMPTY;
        return withVia(union(then, otherwise), '? :');
      }
      case 'lambda':
        if (node.thunk) return this.eval(node.body, ctx, env, depth);
        return {
          reads: [],
          fns: [
            {
              kind: 'lambda',
              params: (node.arguments ?? []).map((a: Ast) => String(a.value)),
              body: node.body,
              env,
              ctx,
              label: `function(${(node.arguments ?? []).map((a: Ast) => `$${a.value}`).join(', ')})`,
            },
          ],
        };
      case 'function':
        return this.call(node, node.arguments ?? [], ctx, env, depth);
      case 'partial': {
        const args = (node.arguments ?? []).map((a: Ast) => this.eval(a, ctx, env, depth));
        const name = node.procedure?.type === 'variable' ? `$${node.procedure.value}` : 'a function';
        return { reads: [], fns: [{ kind: 'opaque', carries: union(...args), label: `${name}(…?…)` }] };
      }
      case 'apply':
        return this.apply(node, ctx, env, depth);
      case 'transform':
        return { reads: [], fns: [{ kind: 'transform', node, env, ctx }] };
      case 'sort':
        return ctx;
      default: {
        // A node this analysis does not know: whatever of the input is under it flows out.
        const parts: Val[] = [];
        for (const v of Object.values(node))
          if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as Ast).type === 'string')
            parts.push(this.eval(v, ctx, env, depth));
        return undecide(derived(union(...parts)), `a JSONata construct (${node.type}) the analysis does not follow`);
      }
    }
  }

  private variable(node: Ast, ctx: Val, env: Env): Val {
    const name = String(node.value);
    const start = this.startOf(node);
    const end = this.endOf(node);
    if (name === '') return surface(ctx, start, end);
    if (name === '$') return surface(this.root, start, end);
    const bound = env.get(name);
    if (bound) return bound;
    // A built-in used as a value (`$map(xs, $uppercase)`), or a binding the caller gives ($params): not the input.
    return { reads: [], fns: [{ kind: 'builtin', name }] };
  }

  /** A path: each step evaluated on the one before; a step's filters and sort keys choose items, they are not data. */
  private path(node: Ast, ctx: Val, env: Env, depth: number): Val {
    const steps: Ast[] = node.steps ?? [];
    let start = steps.length ? this.startOf(steps[0]) : this.startOf(node);
    if (steps[0]?.type === 'parent' && steps.length > 1) start = this.text.lastIndexOf('%', this.startOf(steps[1]));
    let cur = ctx;
    let scope = env;
    for (const s of steps) {
      if (s.type === 'sort') continue;
      const before = cur;
      cur = this.step(s, cur, scope, depth, start);
      if (s.focus !== undefined) {
        // `xs@$x`: $x is the item, the context stays where it was.
        scope = new Env(scope);
        scope.set(String(s.focus), withVia(cur, `$${s.focus}`));
        cur = before;
      }
      if (s.index !== undefined) {
        if (scope === env) scope = new Env(scope);
        scope.set(String(s.index), EMPTY);
      }
      for (const stage of s.stages ?? [])
        if (stage.type === 'index') {
          if (scope === env) scope = new Env(scope);
          scope.set(String(stage.value), EMPTY);
        }
    }
    if (node.group) cur = this.object(node.group.lhs, cur, scope, depth);
    return cur;
  }

  /** One step of a path on `ctx`; a navigated read is placed from `pathStart` to the end of this step. */
  private step(s: Ast, ctx: Val, env: Env, depth: number, pathStart: number): Val {
    const end = this.endOf(s);
    switch (s.type) {
      case 'name':
        return this.navigate(ctx, String(s.value), pathStart, end);
      case 'wildcard':
        return this.navigate(ctx, '*', pathStart, end);
      case 'descendant':
        return this.navigate(ctx, '**', pathStart, end);
      case 'parent':
        return this.parent(ctx, pathStart, end);
      default: {
        const v = this.eval(s, ctx, env, depth);
        return s.group ? this.object(s.group.lhs, v, env, depth) : v;
      }
    }
  }

  navigate(v: Val, name: string, start: number, end: number): Val {
    const reads: Read[] = [];
    for (const r of v.reads) {
      if (!r.exact) continue; // a computed string has no fields
      reads.push({ ...r, path: join(r.path, name), start, end });
    }
    const own: Val = { reads };
    if (!v.fields) return own;
    if (name === '*' || name === '**') return union(own, ...[...v.fields.values()].map((s) => s.val));
    const hit = v.fields.get(name);
    const dynamic = v.fields.get('*');
    return union(own, hit?.val ?? EMPTY, dynamic?.val ?? EMPTY);
  }

  private parent(ctx: Val, start: number, end: number): Val {
    const reads: Read[] = [];
    for (const r of ctx.reads) {
      if (!r.exact) continue;
      const segs = r.path.split('.');
      if (r.path === '') reads.push({ ...r, undecided: r.undecided ?? '`%` above the record', start, end });
      else reads.push({ ...r, path: segs.slice(0, -1).join('.'), start, end });
    }
    if (ctx.fields?.size)
      reads.push({ ...this.root.reads[0], start, end, undecided: '`%` of an object the expression built' });
    return { reads };
  }

  /**
   * An operator. A left-deep chain (`a & b & c …`, thousands of terms in a generated mapping) is walked in a loop,
   * not by recursion, and its operands are joined once. An operand carries its data only when every operator
   * between it and the top of the chain does: `(a & b) = c` is a boolean.
   */
  private binary(node: Ast, ctx: Val, env: Env, depth: number): Val {
    const operands: [Ast, string | undefined][] = [];
    let carrying = true;
    let n = node;
    let op = '';
    while (n?.type === 'binary') {
      op = String(n.value);
      carrying &&= CARRYING_OPERATORS.has(op);
      operands.push([n.rhs, carrying ? op : undefined]);
      n = n.lhs;
    }
    operands.push([n, carrying ? op : undefined]);
    const parts: Val[] = [];
    for (let k = operands.length - 1; k >= 0; k--) {
      const [operand, hop] = operands[k];
      const v = this.eval(operand, ctx, env, depth); // evaluated even when it carries nothing: it may bind a variable
      if (hop !== undefined) parts.push(derived(v, hop));
    }
    return union(...parts);
  }

  private unary(node: Ast, ctx: Val, env: Env, depth: number): Val {
    if (node.value === '{') return this.object(node.lhs ?? [], ctx, env, depth);
    if (node.value === '[') return union(...(node.expressions ?? []).map((e: Ast) => this.eval(e, ctx, env, depth)));
    return derived(this.eval(node.expression, ctx, env, depth), node.value === '-' ? '-' : undefined);
  }

  /** An object constructor (or a group-by) on `ctx`: a key that is not a literal is `*`, known at run time. */
  private object(pairs: [Ast, Ast][], ctx: Val, env: Env, depth: number): Val {
    const fields = new Map<string, Slot>();
    for (const [k, v] of pairs) {
      const key = k?.type === 'string' ? String(k.value) : '*';
      const val = this.eval(v, ctx, env, depth);
      const had = fields.get(key);
      fields.set(key, had ? { val: union(had.val, val), start: had.start } : { val, start: this.startOf(v) });
    }
    return { reads: [], fields };
  }

  private apply(node: Ast, ctx: Val, env: Env, depth: number): Val {
    const rhs = node.rhs;
    if (rhs?.type === 'function') return this.call(rhs, [node.lhs, ...(rhs.arguments ?? [])], ctx, env, depth);
    const lhs = this.eval(node.lhs, ctx, env, depth);
    const fn = this.eval(rhs, ctx, env, depth);
    return this.invoke(fn, [lhs], ctx, depth, rhs);
  }

  /** A call `proc(args…)`: the expression's own lambda evaluated with its arguments, or a built-in by its name. */
  private call(node: Ast, argNodes: Ast[], ctx: Val, env: Env, depth: number): Val {
    const proc = node.procedure;
    if (proc?.type === 'variable' && env.get(String(proc.value)) === undefined) {
      return this.builtin(String(proc.value), node, argNodes, ctx, env, depth);
    }
    const fn = this.eval(proc, ctx, env, depth);
    const args = argNodes.map((a) => this.eval(a, ctx, env, depth));
    return this.invoke(fn, args, ctx, depth, node);
  }

  /** What calling the function value `fn` with `args` gives. */
  private invoke(fn: Val, args: Val[], ctx: Val, depth: number, at: Ast): Val {
    if (!fn.fns?.length) {
      return undecide(derived(union(...args)), 'a call of a function the expression does not define');
    }
    const out: Val[] = [];
    for (const f of fn.fns) out.push(this.run(f, args, ctx, depth, at));
    return union(...out);
  }

  private run(f: Fn, args: Val[], ctx: Val, depth: number, at: Ast): Val {
    switch (f.kind) {
      case 'lambda': {
        if (depth >= MAX_DEPTH)
          return undecide(derived(union(...args), f.label), `calls nested deeper than ${MAX_DEPTH} (recursion)`);
        const scope = new Env(f.env);
        f.params.forEach((p, i) => {
          scope.set(p, withVia(args[i] ?? EMPTY, f.label));
        });
        return this.eval(f.body, f.ctx, scope, depth + 1);
      }
      case 'builtin':
        return this.builtinValues(f.name, args, ctx, depth, at);
      case 'transform': {
        const target = args[0] ?? EMPTY;
        const update = this.eval(f.node.update, target, f.env, depth);
        return union(target, derived(update, '| |'));
      }
      case 'opaque':
        return derived(union(f.carries, ...args), f.label);
    }
  }

  private builtin(name: string, node: Ast, argNodes: Ast[], ctx: Val, env: Env, depth: number): Val {
    const args = argNodes.map((a) => this.eval(a, ctx, env, depth));
    return this.builtinValues(name, args, ctx, depth, node);
  }

  /** A built-in called with these argument values (an omitted first argument is the context, as jsonata does). */
  private builtinValues(name: string, given: Val[], ctx: Val, depth: number, at: Ast): Val {
    const hop = `$${name}()`;
    const start = this.startOf(at);
    const args = given.length ? given : [surface(ctx, start, this.endOf(at))];
    const fnArg = (i: number) => args[i] ?? EMPTY;
    if (NO_DATA.has(name)) return EMPTY;
    if (SAME_ITEMS.has(name)) {
      if (name === 'filter' || name === 'single' || name === 'sort') {
        // The function only chooses or orders the items; it is followed for what it might itself call.
        const fn = fnArg(1);
        if (fn.fns?.length) this.invoke(fn, [fnArg(0), EMPTY, fnArg(0)], ctx, depth, at);
        return withVia(fnArg(0), hop);
      }
      return withVia(union(...args), hop);
    }
    if (CARRY.has(name)) return union(...args.map((a) => derived(a, hop)));
    switch (name) {
      case 'map':
        return withVia(this.invoke(fnArg(1), [fnArg(0), EMPTY, fnArg(0)], ctx, depth, at), hop);
      case 'reduce': {
        let acc = args[2] ?? EMPTY;
        for (let i = 0; i < 2; i++)
          acc = union(acc, this.invoke(fnArg(1), [acc, fnArg(0), EMPTY, fnArg(0)], ctx, depth, at));
        return withVia(acc, hop);
      }
      case 'merge':
        return withVia(fnArg(0), hop);
      case 'lookup': {
        const key = at.arguments?.[at.arguments.length - 1];
        const literal = given.length === 2 && key?.type === 'string';
        if (literal) return withVia(this.navigate(fnArg(0), String(key.value), start, this.endOf(at)), hop);
        return undecide(
          withVia(this.navigate(fnArg(0), '*', start, this.endOf(at)), hop),
          '$lookup with a key known only at run time',
        );
      }
      case 'each': {
        const values = this.navigate(fnArg(0), '*', start, this.endOf(at));
        const why = "$each over an object's fields, known only at run time";
        return withVia(this.invoke(fnArg(1), [undecide(values, why), EMPTY, fnArg(0)], ctx, depth, at), hop);
      }
      case 'sift':
      case 'spread':
      case 'keys':
        return undecide(
          withVia(this.navigate(fnArg(0), '*', start, this.endOf(at)), hop),
          `$${name} over an object's fields, known only at run time`,
        );
      case 'eval':
        return undecide(
          union(derived(fnArg(0), hop), derived(surface(given[1] ?? ctx, start, this.endOf(at)), hop)),
          '$eval of an expression known only at run time',
        );
      default:
        return undecide(union(...args.map((a) => derived(a, hop))), `${hop}, a function the analysis does not know`);
    }
  }
}

// --- the result ---------------------------------------------------------------------------------------------------

const cache = new WeakMap<Expression, Lineage>();

/** The lineage of a compiled expression whose text is `text` (for the positions). */
export function lineage(expr: Expression, text: string): Lineage {
  let hit = cache.get(expr);
  if (!hit) {
    hit = lineageOfAst(expr.ast(), text);
    cache.set(expr, hit);
  }
  return hit;
}

/** The lineage of jsonata's AST of `text`. */
export function lineageOfAst(ast: Ast, text: string): Lineage {
  const root: Val = { reads: [{ path: '', exact: true, start: -1, end: -1, via: [] }] };
  const a = new Analysis(text, root);
  let out: Val;
  try {
    out = a.eval(ast, root, new Env(), 0);
  } catch (e) {
    // Nesting deeper than the stack (jsonata parsed it; following it by recursion did not fit): nothing is guessed.
    if (!(e instanceof RangeError)) throw e;
    out = undecide({ reads: [{ ...root.reads[0], start: 0, end: 0 }] }, 'the expression nests too deeply to follow');
  }
  const lineColumn = lineIndex(text);
  const byField = new Map<string, LineageField>();
  const place = (r: Read): LineageSource => {
    const { line, column } = lineColumn(r.start);
    const s: LineageSource = { path: r.path, start: r.start, end: r.end, line, column, via: r.via };
    if (r.undecided) s.undecided = r.undecided;
    return s;
  };
  const visit = (v: Val, field: string, start: number | undefined, depth: number): void => {
    if (depth > MAX_NESTING) return;
    const reads = [...v.reads];
    for (const f of v.fns ?? []) if (f.kind === 'opaque') reads.push(...derived(f.carries).reads);
    const positioned = reads.filter((r) => r.start >= 0);
    if (positioned.length) {
      let entry = byField.get(field);
      if (!entry) {
        entry = { field, sources: [] };
        if (start !== undefined) Object.assign(entry, { start }, lineColumn(start));
        byField.set(field, entry);
      }
      const known = new Set(entry.sources.map((s) => `${s.path}|${s.start}|${s.undecided ?? ''}`));
      for (const r of positioned) {
        const k = `${r.path}|${r.start}|${r.undecided ?? ''}`;
        if (!known.has(k)) {
          known.add(k);
          entry.sources.push(place(r));
        }
      }
    }
    for (const [k, slot] of v.fields ?? []) visit(slot.val, join(field, k), slot.start, depth + 1);
  };
  visit(out, '', undefined, 0);
  const fields = [...byField.values()].sort((x, y) => (x.field < y.field ? -1 : x.field > y.field ? 1 : 0));
  for (const f of fields) f.sources.sort((x, y) => x.start - y.start || (x.path < y.path ? -1 : 1));
  return { fields };
}

/**
 * `index` → 1-based line and column, as expression.ts's lineColumn counts them (CRLF and a lone CR end a line as LF
 * does), from the line breaks found once: a mapping of thousands of fields is not scanned again for each one.
 */
function lineIndex(text: string): (index: number) => { line: number; column: number } {
  const breaks: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) breaks.push(i);
  }
  return (index) => {
    let lo = 0;
    let hi = breaks.length; // breaks before `index`: the first at or after it
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaks[mid] < index) lo = mid + 1;
      else hi = mid;
    }
    return { line: lo + 1, column: index - (lo ? breaks[lo - 1] : -1) };
  };
}
