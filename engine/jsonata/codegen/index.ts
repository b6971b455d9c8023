/**
 * Code generation: a jsonata AST → the text of one JavaScript function, `evaluate(input, bindings)`, with every
 * variable resolved to a JavaScript variable at compile time. The text is the body of `new Function('R', 'K', 'S',
 * 'Z', code)`: R the runtime (runtime/), K the constants, S the built-ins by name, Z the kept closures.
 *
 * Owns: the shape of the generated code. Must not: run it, or decide anything at evaluation time (runtime/ does).
 */
import { Gen, type Node, type Scope, Unsupported } from './context.js';
import { expr } from './expr.js';

export interface Generated {
  code: string;
  /** K: the values the code refers to by index. */
  constants: unknown[];
  /** The length of Z. */
  kept: number;
  /** The names S must hold: the free variables and the top frame's own. */
  globals: string[];
}

export type Generation = { ok: true; generated: Generated } | { ok: false; problem: string };

/** The function of an AST, or what the compiler does not cover in it. */
export function generate(ast: Node): Generation {
  const g = new Gen(expr);
  try {
    const code = evaluateFunction(g, ast);
    const globals = [...g.free.keys()];
    for (const name of g.boundIn({ type: 'top', body: ast })) if (!g.free.has(name)) globals.push(name);
    return { ok: true, generated: { code, constants: g.constants, kept: g.kept, globals } };
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, problem: e.message };
    throw e;
  }
}

function evaluateFunction(g: Gen, ast: Node): string {
  const top: Scope = { vars: new Map(), parent: null };
  // The top frame is jsonata's execution frame, which also holds the bindings: its own variables start as the
  // bindings' or built-ins' values of the same names.
  const fromBindings = (name: string) =>
    `R.hasOwn(B, ${JSON.stringify(name)}) ? B[${JSON.stringify(name)}] : S[${JSON.stringify(name)}]`;
  const topDecl: string[] = [];
  for (const name of g.boundIn({ type: 'top', body: ast })) {
    const v = g.id('v');
    topDecl.push(`${v} = ${fromBindings(name)}`);
    top.vars.set(name, v);
  }
  const body = g.expr(ast, 'input', top);
  const globals = [...g.free].map(([name, v]) => `${v} = ${fromBindings(name)}`);
  return [
    `return function evaluate(input, B) {`,
    `  B = B || {};`,
    `  if (Array.isArray(input) && !R.isSequence(input)) { input = R.seq1(input); input.outerWrapper = true; }`,
    `  const root = input;`,
    globals.length ? `  const ${globals.join(',\n    ')};` : '',
    topDecl.length ? `  let ${topDecl.join(',\n    ')};` : '',
    `  return ${body};`,
    `};`,
  ].join('\n');
}
