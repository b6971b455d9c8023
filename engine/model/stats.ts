import type { Workspace } from './workspace.js';

/** Sizes of a workspace, for summaries. */
export function workspaceStats(ws: Workspace): { customers: number; flows: number; templates: number; files: number } {
  let flows = 0;
  for (const c of ws.customers.values()) flows += c.flows.size;
  return { customers: ws.customers.size, flows, templates: ws.templates.size, files: ws.files.size };
}
