/** Finding the workspace: the folder with rsync.yaml, from any path inside it. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { exists, WORKSPACE_FILE } from '../load/source.js';

/**
 * Find the workspace root from a path the user gave: the folder with rsync.yaml, looking in the path itself and
 * then upwards (like git does), so `rsync validate integrations/northwind` works from anywhere inside.
 */
export async function findWorkspaceRoot(start: string): Promise<string | undefined> {
  let dir = path.resolve(start);
  try {
    if (!(await stat(dir)).isDirectory()) dir = path.dirname(dir);
  } catch {
    return undefined;
  }
  for (;;) {
    if (await exists(path.join(dir, WORKSPACE_FILE))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The workspace root above `start` (default: the current folder), or the one error every command gives. */
export async function workspaceRoot(start?: string): Promise<string> {
  const root = await findWorkspaceRoot(start ?? '.');
  if (root) return root;
  throw new RsyncError(
    `No ${WORKSPACE_FILE} in ${start ?? '.'} or any folder above it.`,
    ExitCode.NO_INPUT,
    'Run the command inside a workspace, give its folder as the path, or create one with `rsync init <dir>`.',
  );
}
