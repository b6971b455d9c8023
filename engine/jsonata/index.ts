/**
 * JSONata for rsync, in three engines and an analysis, every failure returned as a value (nothing thrown, no error
 * kept in a global):
 * - `compile`: jsonata itself, once per text; a syntax error carries the character it points at (expression.ts).
 * - `outputFields`, `nondeterministicCalls`: what an expression outputs and whether it is deterministic, from its
 *   AST, before it runs (analyse.ts).
 * - `lineage`: which input paths flow into each output field, for the PII check and `rsync explain mapping`
 *   (lineage.ts).
 * - `syncJsonata`: the same jsonata without promises, derived at load time, for the hot path (sync-engine.ts).
 * - `compileToJavaScript`: the expression as one JavaScript function over jsonata's own built-ins, faster still
 *   (compile.ts: parse in ast.ts, code generation in codegen/, what the code calls in runtime/).
 *
 * Owns: everything about evaluating JSONata. Must not: import anything of rsync's (only node: and the jsonata
 * package; test/jsonata/no-rsync-imports.test.ts checks it), or know what a mapping, a flow or a record is.
 * Callers import this file, not the modules behind it.
 */
export { nondeterministicCalls, outputFields, readsInput } from './analyse.js';
export { type CompiledExpression, type CompiledToJavaScript, compileToJavaScript } from './compile.js';
export { type Lineage, type LineageField, type LineageSource, lineage } from './lineage.js';
export { type Compiled, compile, type Expression, type JsonataProblem, lineColumn } from './expression.js';
export { type Jsonata, type SyncEngine, syncJsonata } from './sync-engine.js';
