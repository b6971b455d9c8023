/**
 * Templates: a customer's `spec.uses: [{ template: name@version, with: {...} }]` adds the template's flows to the
 * customer, with `${{ with.x }}` substituted. Parameters are checked against the template's own JSON Schema
 * (`spec.parameters`), whose defaults fill what `with:` leaves out.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { CustomerTemplateUse } from '../model/generated/index.js';
import { fields, items, text } from '../model/guards.js';
import type { Origin, Resource, Workspace } from '../model/workspace.js';
import { deepMerge, isObject } from '../util/merge.js';
import { suggest } from './loader.js';
import { mergeSpec } from './overlays.js';
import { rangeOf, type Path } from './yaml.js';

const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;
const WHOLE = /^\$\{\{\s*([A-Za-z_][\w.]*)\s*\}\}$/;

let paramsAjv: Ajv2020 | undefined;
/**
 * By the schema's text, not by resource: every load makes new resources, and Ajv keeps each schema it compiles, so a
 * long-running `rsync watch` would compile (tens of ms a template) and retain every template's schema on every save.
 */
const compiled = new Map<string, ValidateFunction | Error>();
/**
 * At most this many schemas are kept: past it the cache and the Ajv instance (which retains every schema it compiled)
 * start again, so a process that sees ever new parameter schemas (watch over a long edit session, the fuzzer's tens
 * of thousands of mutated templates) does not grow without end.
 */
const MAX_COMPILED = 256;

function parameterValidator(t: Resource<'Template'>): ValidateFunction | Error {
  const key = JSON.stringify(t.spec.parameters ?? null);
  const hit = compiled.get(key);
  if (hit) return hit;
  if (compiled.size >= MAX_COMPILED) {
    compiled.clear();
    paramsAjv = undefined;
  }
  paramsAjv ??= new Ajv2020({ allErrors: true, strict: false, useDefaults: true });
  let v: ValidateFunction | Error;
  try {
    v = paramsAjv.compile(isObject(t.spec.parameters) ? t.spec.parameters : { type: 'object' });
  } catch (e) {
    v = e instanceof Error ? e : new Error(String(e));
  }
  compiled.set(key, v);
  return v;
}

/** `params` with the template's parameter defaults filled in (for mapping tests of template mappings). */
export function withParameterDefaults(
  t: Resource<'Template'>,
  params: Record<string, unknown>,
): Record<string, unknown> {
  const copy = structuredClone(params);
  const validate = parameterValidator(t);
  if (!(validate instanceof Error)) validate(copy); // fills defaults even where required values are missing
  return copy;
}

export function instantiateTemplates(ws: Workspace): void {
  for (const c of ws.customers.values()) {
    const cr = c.resource;
    if (!cr || !Array.isArray(cr.spec.uses)) continue;
    cr.spec.uses.forEach((entry: unknown, j: number) => {
      const use = fields<CustomerTemplateUse>(entry);
      const template = text(use.template);
      if (!template) return; // the schema check reports it
      const usedAt: Origin = { doc: cr.origin.doc, base: ['spec', 'uses', j] };
      const at = (p: Path, key = false) => rangeOf(usedAt.doc, [...usedAt.base, ...p], key);
      const t = ws.templates.get(template);
      if (!t) {
        const [name] = template.split('@');
        const versions = [...ws.templates.keys()].filter((k) => k.startsWith(`${name}@`));
        ws.diagnostics.push({
          severity: 'error',
          code: 'template-unknown',
          summary: `Unknown template ${template}`,
          detail: versions.length
            ? `Template ${name} exists in versions ${versions.join(', ')}; use one of those.`
            : `No template named ${name} in templates/.${suggest(name, new Set([...ws.templates.keys()].map((k) => k.split('@')[0])))} Templates are declared in templates/<name>/<version>/template.yaml.`,
          range: at(['template']),
          address: `${c.name}/customer/${c.name}`,
        });
        return;
      }
      let withValue = isObject(use.with) ? { ...use.with } : {};
      const envOverlay = ws.env !== undefined && isObject(use.environments) ? use.environments[ws.env] : undefined;
      if (isObject(envOverlay) && isObject(envOverlay.with)) withValue = deepMerge(withValue, envOverlay.with);
      const params = structuredClone(withValue);
      const validate = parameterValidator(t);
      if (validate instanceof Error) {
        ws.diagnostics.push({
          severity: 'error',
          code: 'template-parameters-invalid',
          summary: `Template ${template} has an invalid parameters schema`,
          detail: `spec.parameters must be a JSON Schema (draft 2020-12): ${validate.message}`,
          range: rangeOf(t.origin.doc, ['spec', 'parameters']),
        });
        return;
      }
      if (!validate(params)) {
        for (const e of validate.errors ?? []) {
          const p = e.instancePath.split('/').filter(Boolean);
          const extra = e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : undefined;
          const missing = e.keyword === 'required' ? String(e.params.missingProperty) : undefined;
          const known =
            isObject(t.spec.parameters) && isObject(t.spec.parameters.properties)
              ? Object.keys(t.spec.parameters.properties)
              : [];
          ws.diagnostics.push({
            severity: 'error',
            code: 'template-params',
            summary: extra
              ? `Template ${template} has no parameter "${extra}"`
              : missing
                ? `Template ${template} needs parameter "${missing}"`
                : `Parameter ${p.join('.') || 'with'} ${e.message ?? 'is invalid'}`,
            detail: extra
              ? `Its parameters are: ${known.join(', ') || '(none)'}.${suggest(extra, known)}`
              : missing
                ? `Add \`${missing}:\` under \`with:\`. Its parameters are: ${known.join(', ')}.`
                : `The value under \`with:\` ${e.message ?? 'does not fit'}: see the parameter in ${t.origin.doc.file}.`,
            range: extra ? at(['with', ...p, extra], true) : at(p.length ? ['with', ...p] : ['with'], !p.length),
            address: `${c.name}/customer/${c.name}`,
          });
        }
        return;
      }
      const flows = items(t.spec.flows);
      const prefix = text(use.prefix) ?? '';
      const patches = fields<Record<string, unknown>>(use.patch);
      const names = new Set<string>();
      flows.forEach((f: unknown, i: number) => {
        if (!isObject(f)) return;
        const base: Path = ['spec', 'flows', i];
        const declared =
          isObject(t.spec.parameters) && isObject(t.spec.parameters.properties)
            ? Object.keys(t.spec.parameters.properties)
            : [];
        const subst = substitute(f, { with: params, customer: { name: c.name } }, (p, name) => {
          const param = name.startsWith('with.') ? name.slice(5).split('.')[0] : undefined;
          if (param !== undefined && declared.includes(param)) {
            // Declared, but neither given nor defaulted: the customer's `with:` (or the template's default) is missing it.
            ws.diagnostics.push({
              severity: 'error',
              code: 'template-params',
              summary: `Template ${template} needs a value for parameter "${param}"`,
              detail: `Flow ${String((isObject(f.metadata) && f.metadata.name) || i)} of the template uses \${{ ${name} }}. Add \`${param}:\` under \`with:\`, or give the parameter a default in ${t.origin.doc.file}.`,
              range: at(isObject(use.with) ? ['with'] : ['template'], isObject(use.with)),
              address: `${c.name}/customer/${c.name}`,
            });
            return;
          }
          ws.diagnostics.push({
            severity: 'error',
            code: 'template-param-unknown',
            summary: `Unknown placeholder \${{ ${name} }}`,
            detail: `Template ${template} uses \${{ ${name} }}, but it is not a declared parameter. Declare it under spec.parameters.properties, or use one of: ${declared.map((k) => `with.${k}`).join(', ')}, customer.name.`,
            range: rangeOf(t.origin.doc, [...base, ...p]),
          });
        }) as Record<string, unknown>;
        const meta = isObject(subst.metadata) ? subst.metadata : {};
        const tname = text(meta.name) ?? '';
        names.add(tname);
        let spec = isObject(subst.spec) ? subst.spec : {};
        const patch = patches[tname];
        if (isObject(patch)) spec = mergeSpec(spec, patch);
        const flow: Resource<'Flow'> = {
          kind: 'Flow',
          name: prefix + tname,
          customer: c.name,
          apiVersion: t.apiVersion,
          metadata: {
            ...meta,
            name: prefix + tname,
            labels: {
              ...(isObject(meta.labels) ? (meta.labels as Record<string, string>) : {}),
              'rsync.dev/template': template,
            },
          },
          spec,
          origin: { doc: t.origin.doc, base },
          template: { template: t.name, version: Number(t.spec.version), usedAt, params },
          dir: t.dir,
        };
        const existing = c.flows.get(flow.name);
        if (existing) {
          const first = rangeOf(existing.origin.doc, [...existing.origin.base, 'metadata', 'name']);
          ws.diagnostics.push({
            severity: 'error',
            code: 'duplicate-name',
            summary: `Duplicate Flow "${flow.name}"`,
            detail: `Template ${template} adds flow "${flow.name}", which is already declared at ${first.file}:${first.start.line}:${first.start.column}. Rename one, or give this use a \`prefix:\`.`,
            range: at(['template']),
          });
          return;
        }
        c.flows.set(flow.name, flow);
      });
      for (const name of Object.keys(patches)) {
        if (!names.has(name)) {
          ws.diagnostics.push({
            severity: 'error',
            code: 'template-patch-unknown',
            summary: `Template ${template} has no flow "${name}" to patch`,
            detail: `Its flows are: ${[...names].join(', ')}.${suggest(name, names)}`,
            range: at(['patch', name], true),
          });
        }
      }
    });
  }
}

type Scope = Record<string, unknown>;

/** Replace `${{ a.b }}` placeholders in every string of `value`; report the unknown ones through `unknown`. */
export function substitute(
  value: unknown,
  scope: Scope,
  unknown: (path: Path, name: string) => void,
  at: Path = [],
): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const v = lookup(scope, whole[1]);
      if (v === undefined) {
        unknown(at, whole[1]);
        return value;
      }
      return structuredClone(v);
    }
    if (!value.includes('${{')) return value;
    return value.replace(PLACEHOLDER, (m, name: string) => {
      const v = lookup(scope, name);
      if (v === undefined) {
        unknown(at, name);
        return m;
      }
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, scope, unknown, [...at, i]));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, scope, unknown, [...at, k]);
    return out;
  }
  return value;
}

function lookup(scope: Scope, dotted: string): unknown {
  let v: unknown = scope;
  for (const part of dotted.split('.')) {
    if (!isObject(v) || !(part in v)) return undefined;
    v = v[part];
  }
  return v;
}
