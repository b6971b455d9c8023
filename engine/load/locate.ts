/**
 * From a resource and a path in its value to the place in a file the user should look at: the environment
 * overlay when it set that value, else the document (or the template) that declares the resource.
 */
import { isScalar } from 'yaml';
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Resource } from '../model/workspace.js';
import { findNode, rangeOf, scalarIndexPosition, type Path } from './yaml.js';

export function locate(r: Resource, path: Path, key = false): SourceRange {
  if (r.overlay && path[0] === 'spec') {
    const inOverlay = [...r.overlay.base, ...path.slice(1)];
    if (findNode(r.overlay.doc, inOverlay).found) return rangeOf(r.overlay.doc, inOverlay, key);
  }
  if (r.template && !key) {
    // A template's `${{ with.x }}` took its value from the customer's `uses:` entry: the mistake is there.
    const { node, found } = findNode(r.origin.doc, [...r.origin.base, ...path]);
    const m = found && isScalar(node) && typeof node.value === 'string' ? WITH_PLACEHOLDER.exec(node.value) : null;
    if (m) {
      const inUse = [...r.template.usedAt.base, 'with', ...m[1].split('.')];
      if (findNode(r.template.usedAt.doc, inUse).found) return rangeOf(r.template.usedAt.doc, inUse);
    }
  }
  return rangeOf(r.origin.doc, [...r.origin.base, ...path], key);
}

const WITH_PLACEHOLDER = /^\$\{\{\s*with\.([A-Za-z_][\w.]*)\s*\}\}$/;

/** Character `index` of the string at `path` (JSONata written inside YAML). */
export function locateInScalar(r: Resource, path: Path, index: number): SourceRange {
  if (r.overlay && path[0] === 'spec') {
    const inOverlay = [...r.overlay.base, ...path.slice(1)];
    if (findNode(r.overlay.doc, inOverlay).found) return scalarIndexPosition(r.overlay.doc, inOverlay, index);
  }
  return scalarIndexPosition(r.origin.doc, [...r.origin.base, ...path], index);
}

/** " (from template X@N, used at file:line:col)" for resources a template produced. */
export function templateNote(r: Resource): string {
  if (!r.template) return '';
  const u = rangeOf(r.template.usedAt.doc, [...r.template.usedAt.base, 'template']);
  return ` (flow from template ${r.template.template}@${r.template.version}, used at ${u.file}:${u.start.line}:${u.start.column})`;
}
