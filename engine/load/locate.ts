/**
 * From a resource and a path in its value to the place in a file the user should look at: the environment
 * overlay when it set that value, else the document (or the template) that declares the resource.
 */
import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { Resource } from '../model/workspace.js';
import { findNode, rangeOf, scalarIndexPosition, type Path } from './yaml.js';

export function locate(r: Resource, path: Path, key = false): SourceRange {
  if (r.overlay && path[0] === 'spec') {
    const inOverlay = [...r.overlay.base, ...path.slice(1)];
    if (findNode(r.overlay.doc, inOverlay).found) return rangeOf(r.overlay.doc, inOverlay, key);
  }
  return rangeOf(r.origin.doc, [...r.origin.base, ...path], key);
}

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
