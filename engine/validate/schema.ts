/**
 * JSON Schema checks: every resource against its kind's schema (schemas/), connection settings against their
 * connector's settings schema, canonical records against the canonical model. Ajv's errors are turned into
 * diagnostics that name the field, say what it should be, and point at the line and column.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Diagnostic, SourceRange } from '../diagnostics/diagnostic.js';
import type { Path } from '../load/yaml.js';
import { suggest } from '../load/loader.js';
import type { Kind } from '../model/workspace.js';
import { schemasDir } from '../util/paths.js';

export const SCHEMA_BASE = 'https://rsync.dev/schemas/v1/';

const KIND_FILES: Record<Kind, string> = {
  Workspace: 'workspace.schema.json',
  Customer: 'customer.schema.json',
  Connection: 'connection.schema.json',
  Flow: 'flow.schema.json',
  Policy: 'policy.schema.json',
  SLA: 'sla.schema.json',
  Alert: 'alert.schema.json',
  Reconciliation: 'reconciliation.schema.json',
  Rollout: 'rollout.schema.json',
  Template: 'template.schema.json',
  MappingTest: 'mapping-test.schema.json',
};

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** The project's Ajv, with every schema in schemas/ registered by its $id. */
export function schemaAjv(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  const dir = schemasDir();
  for (const sub of ['', 'canonical']) {
    const folder = path.join(dir, sub);
    for (const f of readdirSync(folder).sort()) {
      if (!f.endsWith('.schema.json')) continue;
      ajv.addSchema(JSON.parse(readFileSync(path.join(folder, f), 'utf8')));
    }
  }
  return ajv;
}

export function validatorFor(id: string): ValidateFunction {
  let v = validators.get(id);
  if (!v) {
    const a = schemaAjv();
    v = a.getSchema(id) ?? a.compile({ $ref: id });
    validators.set(id, v);
  }
  return v;
}

export function kindValidator(kind: Kind): ValidateFunction {
  return validatorFor(SCHEMA_BASE + KIND_FILES[kind]);
}

export function canonicalValidator(entity: string): ValidateFunction {
  return validatorFor(`${SCHEMA_BASE}canonical/${entity}.schema.json`);
}

/** A compiled validator for an ad-hoc schema (a connector's settings), cached by identity. */
const adhoc = new WeakMap<object, ValidateFunction>();
export function validatorForSchema(schema: object): ValidateFunction {
  let v = adhoc.get(schema);
  if (!v) {
    v = schemaAjv().compile(schema);
    adhoc.set(schema, v);
  }
  return v;
}

export interface SchemaProblem {
  path: Path;
  /** Point at the key rather than the value (unknown and missing fields). */
  key: boolean;
  summary: string;
  detail: string;
  code: string;
}

function toPath(pointer: string): Path {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function show(p: Path): string {
  return p.length
    ? p
        .map((s) => (typeof s === 'number' ? `[${s}]` : s))
        .join('.')
        .replace(/\.\[/g, '[')
    : '(document)';
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string "${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  return `${typeof v === 'number' ? 'the number' : typeof v === 'boolean' ? 'the boolean' : typeof v} ${String(v)}`;
}

function branchShapes(schema: unknown): string {
  const branches = Array.isArray(schema) ? schema : [];
  const shapes = branches.map((b: { required?: string[]; type?: string; const?: unknown; $ref?: string }) => {
    if (b.required?.length) return `{ ${b.required.join(', ')}: … }`;
    if (b.const !== undefined) return JSON.stringify(b.const);
    if (b.type) return `a ${b.type}`;
    return 'another form';
  });
  return shapes.join(' or ');
}

/**
 * Ajv errors → one problem per real mistake. Errors inside a oneOf/anyOf's branches are folded into one problem
 * about the choice ("trigger must be { event } or { schedule } or { manual }") unless one branch clearly applies.
 */
export function schemaProblems(errors: ErrorObject[] | null | undefined, pathPrefix: Path = []): SchemaProblem[] {
  if (!errors?.length) return [];
  const choices = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const insideChoice = (e: ErrorObject) =>
    choices.some(
      (c) => c !== e && e.schemaPath.startsWith(c.schemaPath + '/') && e.instancePath.startsWith(c.instancePath),
    );
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (insideChoice(e)) continue;
    if (e.keyword === 'if' || e.keyword === '$ref') continue;
    const p = [...pathPrefix, ...toPath(e.instancePath)];
    const problem = toProblem(e, p, errors);
    if (!problem) continue;
    const k = `${show(problem.path)}|${problem.summary}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(problem);
  }
  return out;
}

function toProblem(e: ErrorObject, p: Path, all: ErrorObject[]): SchemaProblem | undefined {
  const where = show(p);
  const parent = e.parentSchema as
    | { description?: string; properties?: Record<string, unknown>; enum?: unknown[] }
    | undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty);
      const allowed = Object.keys(parent?.properties ?? {});
      return {
        path: [...p, field],
        key: true,
        code: 'schema-unknown-field',
        summary: `Unknown field "${field}"${p.length ? ` in ${where}` : ''}`,
        detail: `${allowed.length ? `Allowed here: ${allowed.join(', ')}.` : 'No fields are allowed here.'}${suggest(field, allowed)} Remove or rename it.`,
      };
    }
    case 'unevaluatedProperties': {
      const field = String(e.params.unevaluatedProperty);
      return {
        path: [...p, field],
        key: true,
        code: 'schema-unknown-field',
        summary: `Unknown field "${field}"${p.length ? ` in ${where}` : ''}`,
        detail: 'This field is not part of the schema here. Remove or rename it.',
      };
    }
    case 'required': {
      const field = String(e.params.missingProperty);
      const propSchema = parent?.properties?.[field] as { description?: string } | undefined;
      return {
        path: p,
        key: p.length > 0,
        code: 'schema-required',
        summary: `Missing required field "${field}"${p.length ? ` in ${where}` : ''}`,
        detail: `Add \`${field}:\`${propSchema?.description ? `: ${sentence(propSchema.description)}` : '.'}`,
      };
    }
    case 'type':
      return {
        path: p,
        key: false,
        code: 'schema-type',
        summary: `${where} must be ${article(String(e.params.type))}`,
        detail: `It is ${describeType(e.data)}.${parent?.description ? ` Expected: ${sentence(parent.description)}` : ''}${
          e.params.type === 'string' && typeof e.data === 'number'
            ? ' Quote the value ("…"): money and identifiers are strings.'
            : ''
        }`,
      };
    case 'enum':
      return {
        path: p,
        key: false,
        code: 'schema-enum',
        summary: `${where} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
        detail: `It is ${describeType(e.data)}.${typeof e.data === 'string' ? suggest(e.data, (e.params.allowedValues as unknown[]).map(String)) : ''}`,
      };
    case 'const':
      return {
        path: p,
        key: false,
        code: 'schema-const',
        summary: `${where} must be ${JSON.stringify(e.params.allowedValue)}`,
        detail: `It is ${describeType(e.data)}.`,
      };
    case 'pattern':
    case 'format':
      return {
        path: p,
        key: false,
        code: 'schema-pattern',
        summary: `${where} is not ${nounOf(parent?.description) ? `a valid ${nounOf(parent?.description)}` : 'in the required form'}`,
        detail: `It is ${describeType(e.data)}; it must match ${e.keyword === 'pattern' ? `the pattern ${String(e.params.pattern)}` : `the format ${String(e.params.format)}`}.${parent?.description ? ` ${sentence(parent.description)}` : ''}`,
      };
    case 'oneOf':
    case 'anyOf': {
      const passing = e.params.passingSchemas as number[] | null | undefined;
      if (Array.isArray(passing) && passing.length > 1) {
        return {
          path: p,
          key: false,
          code: 'schema-choice',
          summary: `${where} matches more than one form`,
          detail: `Use only one of: ${branchShapes(e.schema)}.`,
        };
      }
      // When exactly one branch's required keys are all present, its own errors are the useful ones.
      const branches = Array.isArray(e.schema) ? (e.schema as { required?: string[] }[]) : [];
      const data = e.data as Record<string, unknown> | undefined;
      const fitting = branches
        .map((b, i) => ({ i, b }))
        .filter(
          ({ b }) => b.required?.length && data && typeof data === 'object' && b.required.every((k) => k in data),
        );
      if (fitting.length === 1) {
        const prefix = `${e.schemaPath}/${fitting[0].i}/`;
        const inner = all.filter((x) => x.schemaPath.startsWith(prefix));
        const problems = inner.map((x) =>
          toProblem(x, [...p.slice(0, p.length - toPath(e.instancePath).length), ...toPath(x.instancePath)], all),
        );
        const first = problems.find((x): x is SchemaProblem => x !== undefined);
        if (first) return first;
      }
      const keys = data && typeof data === 'object' && !Array.isArray(data) ? Object.keys(data) : [];
      return {
        path: p,
        key: false,
        code: 'schema-choice',
        summary: `${where} must be ${branchShapes(e.schema)}`,
        detail: keys.length
          ? `It has ${keys.join(', ')}. Write exactly one of the forms.`
          : `It is ${describeType(e.data)}.`,
      };
    }
    case 'minItems':
    case 'maxItems':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minLength':
    case 'maxLength':
    case 'minProperties':
    case 'uniqueItems':
      return {
        path: p,
        key: false,
        code: 'schema-range',
        summary: `${where} ${e.message}`,
        detail: `It is ${describeType(e.data)}.`,
      };
    default:
      return {
        path: p,
        key: false,
        code: 'schema-invalid',
        summary: `${where} ${e.message ?? 'is invalid'}`,
        detail: parent?.description
          ? `Expected: ${sentence(parent.description)}`
          : 'See the schema in schemas/ for the expected shape.',
      };
  }
}

/** A description as a sentence: capitalised, ending with exactly one full stop. */
function sentence(text: string): string {
  const t = text.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/** The noun phrase a description starts with ("Admin API version, e.g. 2026-07" → "Admin API version"), if short. */
function nounOf(description: string | undefined): string | undefined {
  if (!description) return undefined;
  const phrase = description
    .split(/[,;(:.]/)[0]
    .trim()
    .replace(/^(a|an|the)\s+/i, '');
  if (!phrase || phrase.split(/\s+/).length > 6 || /^(where|what|how|when|which|who|only|must)\b/i.test(phrase))
    return undefined;
  return phrase;
}

function article(type: string): string {
  const t = type.replace(/,/g, ' or ');
  if (t === 'object') return 'a mapping';
  if (t === 'array') return 'a list';
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** A schema problem as a diagnostic, placed by `where`. */
export function problemToDiagnostic(
  p: SchemaProblem,
  where: (path: Path, key: boolean) => SourceRange,
  address?: string,
  note = '',
): Diagnostic {
  return {
    severity: 'error',
    code: p.code,
    summary: p.summary,
    detail: p.detail + note,
    range: where(p.path, p.key),
    address,
  };
}
