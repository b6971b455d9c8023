/**
 * What code generation carries from node to node: fresh identifiers, constants (K), kept closures (Z), free
 * variables, and the scopes that resolve a JSONata variable to a JavaScript one at compile time.
 */
export type Node = any;

/** A frame's variables: JSONata name → JavaScript variable. */
export interface Scope {
  vars: Map<string, string>;
  parent: Scope | null;
}

/** What this compiler does not cover: code generation stops and the expression stays with the interpreter. */
export class Unsupported extends Error {}

/** Compile one node, as `evaluate(node)` would evaluate it (`step`: as a path step, whose stages the path applies). */
export type Emit = (g: Gen, node: Node, ctx: string, scope: Scope, step: boolean) => string;

/** Built-ins whose implementation reads the interpreter's environment (timestamp, evaluation). */
const NEEDS_ENVIRONMENT = new Set(['now', 'millis', 'eval']);

export class Gen {
  /** The last identifier's number. */
  n = 0;
  /** The name of the variable the next lambda is bound to. */
  naming: string | undefined;
  readonly constants: unknown[] = [];
  /** Free variables: looked up in the bindings, then the built-ins, when evaluation starts. */
  readonly free = new Map<string, string>();
  /** How many function literals the code keeps (keep()). */
  kept = 0;

  constructor(private readonly emit: Emit) {}

  /** jsonata's `evaluate(node)`: the node, then its predicates, then the sequence collapse. */
  expr(node: Node, ctx: string, scope: Scope, step = false): string {
    return this.emit(this, node, ctx, scope, step);
  }

  id(base: string): string {
    return `${base}${++this.n}`;
  }

  /**
   * A function literal of the generated code, its latest closure kept in Z. Every evaluation makes new closures of
   * these literals, which die with it; without a live one, TurboFan compiled the mapping's object constructors and
   * lambdas again and again (--trace-opt: 14 times each in a 50,000-record run, no deopt logged; a third of a
   * 2-core machine in the e2e benchmark). With one kept, each is compiled once per thread. Why V8 dropped the code
   * was not pinned down.
   */
  keep(fn: string): string {
    return `(Z[${this.kept++}] = ${fn})`;
  }

  constant(v: unknown): string {
    this.constants.push(v);
    return `K[${this.constants.length - 1}]`;
  }

  number(v: number): string {
    return Number.isInteger(v) && Math.abs(v) < 2 ** 31 && !Object.is(v, -0) ? `(${v})` : this.constant(v);
  }

  /** The names a frame binds with `:=`: every bind below it that no nested block or lambda frames. */
  boundIn(node: Node, out = new Set<string>()): Set<string> {
    const visit = (n: Node): void => {
      if (Array.isArray(n)) return n.forEach(visit);
      if (!n || typeof n !== 'object') return;
      if (n.type === 'block' || (n.type === 'lambda' && !n.thunk)) return;
      if (n.type === 'bind') out.add(n.lhs.value);
      for (const [k, v] of Object.entries(n))
        if (k !== 'value' && k !== 'signature' && v && typeof v === 'object') visit(v);
    };
    if (node.type === 'block') for (const e of node.expressions) visit(e);
    else if (node.type === 'lambda' || node.type === 'top') visit(node.body);
    else visit(node);
    return out;
  }

  resolve(name: string, scope: Scope | null): string {
    for (let s = scope; s; s = s.parent) {
      const v = s.vars.get(name);
      if (v) return v;
    }
    if (name === '$') return 'root';
    let g = this.free.get(name);
    if (!g) {
      if (NEEDS_ENVIRONMENT.has(name)) throw new Unsupported(`$${name} needs the interpreter`);
      g = `g_${this.free.size}`;
      this.free.set(name, g);
    }
    return g;
  }

  /** Declarations for a frame's own variables: each starts as what the name meant outside (jsonata's frame lookup
   *  falls through to the enclosing frame until the name is bound here). */
  declare(scope: Scope, names: Iterable<string>): string {
    const decl: string[] = [];
    for (const name of names) {
      if (scope.vars.has(name)) continue;
      const outer = this.resolve(name, scope.parent);
      const v = this.id('v');
      scope.vars.set(name, v);
      decl.push(`${v} = ${outer}`);
    }
    return decl.length ? `let ${decl.join(', ')};` : '';
  }
}
