/** Opening the state database for a command (embedded or DATABASE_URL), with notes on stderr unless --json. */
import { findWorkspaceRoot } from '../engine/load/source.js';
import { connect, type Database } from '../engine/state/db.js';
import { ExitCode, RsyncError } from '../engine/errors.js';

export async function workspaceRoot(path: string | undefined): Promise<string> {
  const root = await findWorkspaceRoot(path ?? '.');
  if (!root) {
    throw new RsyncError(
      `No rsync.yaml in ${path ?? '.'} or any folder above it.`,
      ExitCode.NO_INPUT,
      'Run inside a workspace, or create one with `rsync init <dir>`.',
    );
  }
  return root;
}

export async function openDatabase(root: string, quiet: boolean): Promise<Database> {
  return connect(root, { log: quiet ? () => {} : (line) => process.stderr.write(line + '\n') });
}
