/**
 * Generates the TypeScript types in engine/model/generated/ from the JSON Schemas in schemas/.
 *
 *   node --import tsx engine/model/gen-types.ts           write the generated files (npm run gen:types)
 *   node --import tsx engine/model/gen-types.ts --check   write nothing; exit 1 when a file is stale (npm run check:types)
 *
 * One TypeScript file per schema file (schemas/flow.schema.json → generated/flow.ts, schemas/canonical/order.schema.json
 * → generated/canonical/order.ts), plus generated/index.ts (the kinds, and the canonical model as the `canonical`
 * namespace), generated/canonical/index.ts, and generated/defaults.ts: every `default` the schemas declare, as one
 * value the engine reads, so a default is written once (in its schema) and never again in code.
 *
 * json-schema-to-typescript never sees a `$ref`: every `$ref` (local or to another of our files, by `$id`) is turned
 * into a named type reference plus an `import type` here, so nothing is resolved over the network or from disk, each
 * type is declared exactly once, and the output is the same bytes on every run. Each named type comes from a `title`:
 * the root of a schema file, and each of its `$defs` (a `$def` that is only a `$ref` to another file is re-exported).
 *
 * Two shapes are rewritten for better types (validation is unchanged, it uses the schemas themselves):
 * - an object whose `oneOf`/`anyOf` branches only say which of its properties are required (e.g. a trigger is exactly
 *   one of event | schedule | manual) becomes a union of objects;
 * - a document schema that dispatches with `allOf: [{ if, then: { $ref } }…]` becomes the union of the `then` types.
 */
import { readdir, readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

type Schema = { [key: string]: unknown };
type CompileInput = Parameters<typeof compile>[0];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCHEMAS_DIR = path.join(ROOT, 'schemas');
const OUT_DIR = path.join(ROOT, 'engine', 'model', 'generated');
const SCHEMA_SUFFIX = '.schema.json';
const GROUPS = ['', 'canonical'] as const; // sub-folders of schemas/, each with its own index.ts

/** Keywords that json-schema-to-typescript does not need (or would misread); dropped from its input. */
const DROPPED = new Set([
  '$schema',
  '$id',
  '$defs',
  '$comment',
  'propertyNames',
  'dependentRequired',
  'if',
  'then',
  'else',
]);

/**
 * Schema files that get no types: schemas/connection-settings.schema.json is generated from the connector catalogue
 * (engine/connectors/settings-schema.ts), whose spec.ts files type the settings; an `allOf` `$ref` to it is dropped.
 */
const UNTYPED = new Set(['connection-settings.schema.json']);

interface SchemaFile {
  /** Path relative to schemas/, with forward slashes (e.g. canonical/order.schema.json). */
  readonly rel: string;
  readonly group: (typeof GROUPS)[number];
  readonly id: string;
  readonly schema: Schema;
  /** Path of the generated file relative to the generated folder, without extension (e.g. canonical/order). */
  readonly out: string;
  /** The type name of the root, or undefined for a file of definitions only. */
  readonly rootName: string | undefined;
}

interface Target {
  readonly file: SchemaFile;
  readonly name: string;
}

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(message: string): never {
  throw new Error(`gen-types: ${message}`);
}

/** A TypeScript identifier from a schema title ("rsync document" → RsyncDocument). */
function typeName(title: string): string {
  const name = title
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) fail(`cannot make a type name of title ${JSON.stringify(title)}`);
  return name;
}

/** True for a schema with a type of its own at the root (false for a file holding only $defs). */
function hasRootType(schema: Schema): boolean {
  return ['type', 'properties', 'allOf', 'anyOf', 'oneOf', '$ref', 'const', 'enum'].some((k) => k in schema);
}

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'deprecated', '$comment']);

/** The $ref of a schema that is nothing but a $ref (plus annotations), else undefined. */
function aliasRef(schema: Schema): string | undefined {
  if (typeof schema.$ref !== 'string') return undefined;
  return Object.keys(schema).every((k) => k === '$ref' || ANNOTATIONS.has(k)) ? schema.$ref : undefined;
}

async function loadSchemas(): Promise<SchemaFile[]> {
  const files: SchemaFile[] = [];
  for (const group of GROUPS) {
    const dir = path.join(SCHEMAS_DIR, group);
    const names = (await readdir(dir)).filter((n) => n.endsWith(SCHEMA_SUFFIX)).sort();
    for (const n of names) {
      const rel = group ? `${group}/${n}` : n;
      if (UNTYPED.has(rel)) continue;
      const schema: unknown = JSON.parse(await readFile(path.join(dir, n), 'utf8'));
      if (!isObject(schema)) fail(`${rel} is not a JSON object`);
      if (typeof schema.$id !== 'string') fail(`${rel} has no $id`);
      const rootName = hasRootType(schema)
        ? typeName(typeof schema.title === 'string' ? schema.title : fail(`${rel} has no title`))
        : undefined;
      files.push({ rel, group, id: schema.$id, schema, out: rel.slice(0, -SCHEMA_SUFFIX.length), rootName });
    }
  }
  return files;
}

class Registry {
  private readonly byId = new Map<string, SchemaFile>();

  constructor(readonly files: readonly SchemaFile[]) {
    for (const f of files) {
      if (this.byId.has(f.id)) fail(`$id ${f.id} is used by ${this.byId.get(f.id)!.rel} and ${f.rel}`);
      this.byId.set(f.id, f);
    }
  }

  /** The named type a $ref (relative to the file `from`) points to, following $defs that are only aliases. */
  resolve(ref: string, from: SchemaFile, seen: readonly string[] = []): Target {
    const url = new URL(ref, from.id);
    const fragment = decodeURIComponent(url.hash.replace(/^#/, ''));
    url.hash = '';
    const file =
      this.byId.get(url.href) ?? fail(`${from.rel}: $ref ${ref} points to ${url.href}, which is not one of schemas/`);
    const key = `${file.id}#${fragment}`;
    if (seen.includes(key)) fail(`${from.rel}: $ref cycle ${[...seen, key].join(' → ')}`);
    if (fragment === '') {
      return {
        file,
        name: file.rootName ?? fail(`${from.rel}: $ref ${ref} points to ${file.rel}, which has no root type`),
      };
    }
    const m =
      /^\/\$defs\/([^/]+)$/.exec(fragment) ?? fail(`${from.rel}: $ref ${ref}: only #/$defs/<name> is supported`);
    const def = this.def(file, m[1]!);
    const alias = aliasRef(def);
    if (alias !== undefined) return this.resolve(alias, file, [...seen, key]);
    return { file, name: this.defName(file, m[1]!) };
  }

  def(file: SchemaFile, key: string): Schema {
    const defs = file.schema.$defs;
    const def = isObject(defs) ? defs[key] : undefined;
    return isObject(def) ? def : fail(`${file.rel} has no $defs/${key}`);
  }

  defName(file: SchemaFile, key: string): string {
    const def = this.def(file, key);
    return typeName(typeof def.title === 'string' ? def.title : key);
  }
}

/** One generated file being assembled: its imports and the names it declares. */
class Unit {
  /** module specifier → names imported from it */
  readonly imports = new Map<string, Set<string>>();
  /** module specifier → names re-exported from it */
  readonly reexports = new Map<string, Set<string>>();
  /** schema object → its json-schema-to-typescript input */
  readonly transformed = new WeakMap<Schema, Schema>();

  constructor(
    readonly file: SchemaFile,
    readonly registry: Registry,
  ) {}

  /** The module specifier of `target` as seen from this file (./defs.js, ../defs.js). */
  specifier(target: SchemaFile): string {
    const rel = path.posix.relative(path.posix.dirname(this.file.out), target.out);
    return `${rel.startsWith('.') ? rel : `./${rel}`}.js`;
  }

  /** A type reference to the target of `ref`, importing it when it lives in another file. */
  reference(ref: string): string {
    const target = this.registry.resolve(ref, this.file);
    if (target.file !== this.file) add(this.imports, this.specifier(target.file), target.name);
    return target.name;
  }
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

/**
 * The json-schema-to-typescript input for a schema: every $ref replaced by a named type (tsType). Memoised by
 * identity, so a subschema shared by the branches of a union stays one object and is declared once.
 */
function transform(node: unknown, unit: Unit): unknown {
  if (Array.isArray(node)) return node.map((n) => transform(n, unit));
  if (!isObject(node)) return node;
  const done = unit.transformed.get(node);
  if (done) return done;
  const out = transformObject(node, unit);
  unit.transformed.set(node, out);
  return out;
}

function transformObject(node: Schema, unit: Unit): Schema {
  if (typeof node.$ref === 'string') {
    const out: Schema = { tsType: unit.reference(node.$ref) };
    if (typeof node.description === 'string') out.description = node.description;
    if ('default' in node) out.default = node.default;
    return out;
  }

  if (Object.keys(node).every((k) => ANNOTATIONS.has(k))) {
    return { ...node, tsType: 'unknown' }; // no constraint at all: any JSON value, null included
  }

  const dispatch = dispatchUnion(node);
  if (dispatch) return transform(dispatch, unit) as Schema;
  const exclusive = exclusiveUnion(node);
  if (exclusive) return transform(exclusive, unit) as Schema;

  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (DROPPED.has(k)) continue;
    if (k === 'allOf' && Array.isArray(v)) {
      const typed = v.filter((b) => !(isObject(b) && typeof b.$ref === 'string' && untyped(b.$ref, unit.file)));
      if (typed.length) out[k] = transform(typed, unit);
      continue;
    }
    if (k === 'properties' || k === 'patternProperties') {
      out[k] = Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, transform(s, unit)]));
    } else if (
      ['items', 'additionalProperties', 'not', 'contains', 'anyOf', 'oneOf', 'allOf', 'prefixItems'].includes(k)
    ) {
      out[k] = transform(v, unit);
    } else {
      out[k] = v; // annotations and validation keywords: copied as they are
    }
  }
  return out;
}

function untyped(ref: string, from: SchemaFile): boolean {
  return UNTYPED.has(new URL(ref, from.id).pathname.split('/').pop() ?? '');
}

/**
 * `allOf: [{ if: …, then: { $ref } }, …]` (a document that dispatches on a discriminator) → `anyOf` of the `$ref`s.
 */
function dispatchUnion(node: Schema): Schema | undefined {
  const all = node.allOf;
  if (!Array.isArray(all) || all.length === 0) return undefined;
  const thens: unknown[] = [];
  for (const branch of all) {
    if (!isObject(branch) || !('if' in branch) || !isObject(branch.then) || aliasRef(branch.then) === undefined) {
      return undefined;
    }
    thens.push({ $ref: branch.then.$ref });
  }
  return pick(node, ['title', 'description', 'deprecated'], { anyOf: thens });
}

/**
 * An object whose `oneOf` (exactly one) or `anyOf` (at least one) branches only say which of its properties are
 * required → a union of objects: one per branch, with the shared properties and that branch's own.
 */
function exclusiveUnion(node: Schema): Schema | undefined {
  const combinator = Array.isArray(node.oneOf) ? 'oneOf' : Array.isArray(node.anyOf) ? 'anyOf' : undefined;
  if (!combinator || !isObject(node.properties) || node.allOf !== undefined) return undefined;
  if (combinator === 'oneOf' && node.anyOf !== undefined) return undefined;
  const properties = node.properties;
  const branches = node[combinator] as unknown[];
  const branchRequired: string[][] = [];
  for (const b of branches) {
    if (!isObject(b) || !Object.keys(b).every((k) => k === 'required' || k === 'properties')) return undefined;
    if (
      b.properties !== undefined &&
      !(isObject(b.properties) && Object.values(b.properties).every((s) => s === true))
    ) {
      return undefined;
    }
    const required = b.required;
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string' && r in properties)) return undefined;
    branchRequired.push(required as string[]);
  }
  const exclusive = new Set(branchRequired.flat());
  const required = Array.isArray(node.required) ? (node.required as string[]) : [];
  const dependent = isObject(node.dependentRequired) ? node.dependentRequired : {};
  const variants = branchRequired.map((own) => {
    const props: Schema = {};
    for (const [p, s] of Object.entries(properties)) {
      const needs = dependent[p];
      const allowed = Array.isArray(needs) ? needs.every((n) => own.includes(n as string)) : true;
      // oneOf: the other branches' properties are absent; anyOf: they stay optional
      const belongs = exclusive.has(p) ? own.includes(p) || combinator === 'anyOf' : true;
      if (allowed && belongs) props[p] = s; // same object in every branch: declared once
    }
    return {
      type: 'object',
      properties: props,
      required: [...required, ...own].filter((r, i, a) => a.indexOf(r) === i && r in props),
      additionalProperties: node.additionalProperties ?? true,
    };
  });
  return pick(node, ['title', 'description', 'deprecated'], { oneOf: variants });
}

function pick(node: Schema, keys: readonly string[], extra: Schema): Schema {
  const out: Schema = {};
  for (const k of keys) if (k in node) out[k] = node[k];
  return { ...out, ...extra };
}

const COMPILE_OPTIONS = {
  bannerComment: '',
  additionalProperties: true,
  declareExternallyReferenced: true,
  unreachableDefinitions: false,
  ignoreMinAndMaxItems: true,
  strictIndexSignatures: false,
  unknownAny: true,
  format: true,
  // never resolve anything: every $ref was replaced before compiling
  $refOptions: { resolve: { file: false, http: false, external: false } },
} as const;

/** Titles of every named type that json-schema-to-typescript will declare for `schema`, to check uniqueness. */
function declaredTitles(node: unknown, into: string[], seen = new Set<unknown>()): void {
  if (seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) node.forEach((n) => declaredTitles(n, into, seen));
  else if (isObject(node)) {
    if (typeof node.title === 'string') into.push(typeName(node.title));
    for (const v of Object.values(node)) declaredTitles(v, into, seen);
  }
}

async function generateFile(file: SchemaFile, registry: Registry): Promise<string> {
  const unit = new Unit(file, registry);
  const pieces: { name: string; schema: Schema }[] = [];
  if (file.rootName) pieces.push({ name: file.rootName, schema: file.schema });
  const defs = isObject(file.schema.$defs) ? file.schema.$defs : {};
  for (const key of Object.keys(defs)) {
    const def = registry.def(file, key);
    const alias = aliasRef(def);
    if (alias !== undefined) {
      const target = registry.resolve(alias, file);
      add(unit.reexports, unit.specifier(target.file), target.name);
      continue;
    }
    pieces.push({ name: registry.defName(file, key), schema: def });
  }

  const bodies: string[] = [];
  const declared: string[] = [];
  for (const piece of pieces) {
    const input = transform(piece.schema, unit) as Schema;
    input.title = piece.name;
    declaredTitles(input, declared);
    const ts = await compile(input as CompileInput, piece.name, COMPILE_OPTIONS);
    bodies.push(ts.trim());
  }

  const imported = [...unit.imports.values(), ...unit.reexports.values()].flatMap((s) => [...s]);
  const clash = [...declared, ...imported].find((n, i, a) => a.indexOf(n) !== i);
  if (clash) fail(`${file.rel}: the type name ${clash} is declared twice (give one of the titles another name)`);

  const sortNames = (s: Set<string>) => [...s].sort().join(', ');
  const lines = [
    '/* eslint-disable */',
    '/**',
    ` * Generated from schemas/${file.rel} (${file.id})`,
    ' * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.',
    ' */',
    '',
  ];
  for (const [spec, names] of [...unit.imports].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`import type {${sortNames(names)}} from "${spec}";`);
  }
  for (const [spec, names] of [...unit.reexports].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`export type {${sortNames(names)}} from "${spec}";`);
  }
  if (unit.imports.size + unit.reexports.size > 0) lines.push('');
  return `${lines.join('\n')}\n${bodies.join('\n\n')}\n`;
}

/** Exported type names of a generated file (for the index's clash check). */
function exportedNames(source: string): string[] {
  const names = [...source.matchAll(/^export (?:interface|type) ([A-Za-z0-9_]+)/gm)].map((m) => m[1]!);
  for (const m of source.matchAll(/^export type \{([^}]*)\} from/gm))
    names.push(...m[1]!.split(',').map((s) => s.trim()));
  return names;
}

function indexFile(group: string, files: readonly SchemaFile[], outputs: ReadonlyMap<string, string>): string {
  const members = files.filter((f) => f.group === group);
  const seen = new Map<string, string>();
  for (const f of members) {
    for (const n of exportedNames(outputs.get(`${f.out}.ts`)!)) {
      const other = seen.get(n);
      if (other !== undefined) fail(`index of schemas/${group}: ${n} is exported by both ${other} and ${f.rel}`);
      seen.set(n, f.rel);
    }
  }
  const lines = [
    '/* eslint-disable */',
    '/**',
    ` * Generated by engine/model/gen-types.ts: the types of schemas/${group ? `${group}/` : ''}*.schema.json.`,
    ' * Do not edit: change the schemas and run `npm run gen:types`.',
    ' */',
    '',
  ];
  for (const f of members) {
    lines.push(`export type * from "./${path.posix.basename(f.out)}.js";`);
  }
  for (const sub of GROUPS) {
    if (sub && !group) lines.push(`export type * as ${sub} from "./${sub}/index.js";`);
  }
  return `${lines.join('\n')}\n`;
}

/** Type name → property → its `default`, for every property of a titled object schema that declares one. */
function collectDefaults(node: unknown, file: SchemaFile, into: Map<string, { file: SchemaFile; values: Schema }>) {
  if (Array.isArray(node)) for (const n of node) collectDefaults(n, file, into);
  if (!isObject(node)) return;
  const props = isObject(node.properties) ? node.properties : {};
  for (const [p, s] of Object.entries(props)) {
    if (!isObject(s) || !('default' in s)) continue;
    if (typeof node.title !== 'string') fail(`${file.rel}: property ${p} has a default, its object needs a title`);
    const name = typeName(node.title);
    const entry = into.get(name) ?? { file, values: {} };
    if (entry.file !== file) fail(`${file.rel}: the type name ${name} is also declared in ${entry.file.rel}`);
    entry.values[p] = s.default;
    into.set(name, entry);
  }
  for (const v of Object.values(node)) collectDefaults(v, file, into);
}

function defaultsFile(files: readonly SchemaFile[]): string {
  const found = new Map<string, { file: SchemaFile; values: Schema }>();
  for (const f of files) collectDefaults(f.schema, f, found);
  const names = [...found.keys()].sort();
  const bySpecifier = new Map<string, Set<string>>();
  for (const n of names) add(bySpecifier, `./${found.get(n)!.file.out}.js`, n);
  const lines = [
    '/* eslint-disable */',
    '/**',
    ' * Generated by engine/model/gen-types.ts: the `default` of every property the schemas in schemas/ declare, by',
    ' * the type that declares the property. Do not edit: change the schemas and run `npm run gen:types`.',
    ' */',
    '',
  ];
  for (const [spec, set] of [...bySpecifier].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`import type {${[...set].sort().join(', ')}} from "${spec}";`);
  }
  lines.push('', 'export const DEFAULTS = {');
  for (const n of names) {
    const values = Object.entries(found.get(n)!.values).map(([p, v]) => `${p}: ${JSON.stringify(v)}`);
    lines.push(`  ${n}: { ${values.join(', ')} },`);
  }
  lines.push('} as const satisfies {');
  for (const n of names) lines.push(`  ${n}: Partial<${n}>;`);
  lines.push('};');
  return `${lines.join('\n')}\n`;
}

/** Every generated file: path relative to the generated folder → content. */
export async function generate(): Promise<Map<string, string>> {
  const files = await loadSchemas();
  const registry = new Registry(files);
  const outputs = new Map<string, string>();
  for (const f of files) outputs.set(`${f.out}.ts`, await generateFile(f, registry));
  for (const group of GROUPS) {
    outputs.set(group ? `${group}/index.ts` : 'index.ts', indexFile(group, files, outputs));
  }
  outputs.set('defaults.ts', defaultsFile(files));
  return outputs;
}

async function existing(dir: string, prefix = ''): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await existing(path.join(dir, e.name), rel)));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out.sort();
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length) {
    process.stderr.write(`usage: gen-types.ts [--check]   (unknown argument ${unknown[0]})\n`);
    return 2;
  }
  const outputs = await generate();
  const present = await existing(OUT_DIR);
  const stale: string[] = [];
  for (const [rel, content] of outputs) {
    let current: string | undefined;
    try {
      current = await readFile(path.join(OUT_DIR, rel), 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== content) stale.push(current === undefined ? `${rel} (missing)` : rel);
  }
  const extra = present.filter((p) => !outputs.has(p));
  const display = path.relative(process.cwd(), OUT_DIR) || '.';

  if (check) {
    if (stale.length === 0 && extra.length === 0) {
      process.stdout.write(`gen-types: ${outputs.size} files in ${display} are up to date\n`);
      return 0;
    }
    process.stdout.write(`gen-types: stale files in ${display} (run npm run gen:types):\n`);
    for (const s of stale) process.stdout.write(`  ${s}\n`);
    for (const e of extra) process.stdout.write(`  ${e} (no longer generated)\n`);
    return 1;
  }

  for (const rel of stale.map((s) => s.replace(/ \(missing\)$/, ''))) {
    const target = path.join(OUT_DIR, rel);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, outputs.get(rel)!);
  }
  for (const rel of extra) await rm(path.join(OUT_DIR, rel));
  process.stdout.write(
    `gen-types: ${outputs.size} files in ${display}: ${stale.length} written, ${extra.length} removed, ${
      outputs.size - stale.length
    } unchanged\n`,
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
