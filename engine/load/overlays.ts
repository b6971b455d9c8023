/**
 * Environment overlays: a document's `environments.<env>` is deep-merged into its spec when that environment is
 * chosen (`--env staging`), so staging can point at a sandbox shop or run a flow by hand while production does not.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { WORKSPACE_FILE } from './source.js';
import { allResources, type Workspace } from '../model/workspace.js';
import { deepMerge, isObject } from '../util/merge.js';
import { suggest } from './loader.js';
import { fileStart, rangeOf } from './yaml.js';

/** The environments rsync.yaml declares. */
export function declaredEnvironments(ws: Workspace): string[] {
  const envs = ws.settings?.spec.environments;
  return isObject(envs) ? Object.keys(envs) : [];
}

export function applyOverlays(ws: Workspace, env: string): void {
  const known = declaredEnvironments(ws);
  if (ws.settings && !known.includes(env)) {
    ws.diagnostics.push({
      severity: 'error',
      code: 'environment-unknown',
      summary: `Unknown environment "${env}"`,
      detail: `${WORKSPACE_FILE} declares ${known.length ? known.join(', ') : 'no environments'} under spec.environments.${suggest(env, known)}`,
      range: ws.settings ? rangeOf(ws.settings.origin.doc, ['spec', 'environments']) : fileStart(WORKSPACE_FILE),
    });
    return;
  }
  for (const r of allResources(ws)) {
    if (r.template) continue; // template flows take environment values through their use's `environments.<env>.with`
    const raw = r.origin.doc.value;
    const overlays = isObject(raw) ? raw.environments : undefined;
    if (!isObject(overlays)) continue;
    const o = overlays[env];
    if (isObject(o)) {
      r.spec = mergeSpec(r.spec, o);
      r.overlay = { doc: r.origin.doc, base: [...r.origin.base, 'environments', env] };
    }
  }
}

const TRIGGER_FORMS = ['event', 'schedule', 'manual'];

/**
 * Deep-merge an overlay (or a template patch) into a spec. A flow's trigger is one of three forms: an overlay that
 * switches to another form (`trigger: { manual: true }` over an event) replaces the trigger instead of adding a
 * second form beside the first.
 */
export function mergeSpec(spec: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const merged = deepMerge(spec, patch);
  const before = spec.trigger;
  const after = patch.trigger;
  if (isObject(before) && isObject(after)) {
    const forms = TRIGGER_FORMS.filter((f) => after[f] !== undefined && after[f] !== null);
    if (forms.length > 0 && !forms.some((f) => before[f] !== undefined)) merged.trigger = deepMerge({}, after);
  }
  return merged;
}

/** Overlays that name an environment rsync.yaml does not declare (checked whether or not --env is given). */
export function checkOverlayNames(ws: Workspace): Diagnostic[] {
  const out: Diagnostic[] = [];
  const known = declaredEnvironments(ws);
  if (!ws.settings) return out;
  for (const r of allResources(ws)) {
    if (r.template) continue;
    const raw = r.origin.doc.value;
    const overlays = isObject(raw) ? raw.environments : undefined;
    if (!isObject(overlays) || r.kind === 'Workspace') continue;
    for (const name of Object.keys(overlays)) {
      if (!known.includes(name)) {
        out.push({
          severity: 'error',
          code: 'environment-unknown',
          summary: `Overlay for unknown environment "${name}"`,
          detail: `${WORKSPACE_FILE} declares ${known.join(', ') || 'no environments'}.${suggest(name, known)} Rename the overlay or declare the environment.`,
          range: rangeOf(r.origin.doc, [...r.origin.base, 'environments', name], true),
        });
      }
    }
  }
  return out;
}
