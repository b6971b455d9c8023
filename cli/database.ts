/** Opening the state database for a command (embedded or DATABASE_URL), with notes on stderr unless --json. */
import { workspaceRoot as rootOf } from '../engine/workspace/index.js';
import { connect, type Database } from '../engine/state/db.js';

export async function workspaceRoot(path: string | undefined): Promise<string> {
  return rootOf(path);
}

export async function openDatabase(root: string, quiet: boolean): Promise<Database> {
  return connect(root, { log: quiet ? () => {} : (line) => process.stderr.write(line + '\n') });
}
