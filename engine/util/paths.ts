/** Where the project's own files are at run time, from source (tsx, vitest) or from the build in .build/. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The workspace's own folder for what rsync keeps beside it (the embedded database, caches); git-ignored. */
export const STATE_DIR = '.rsync';

let root: string | undefined;

/** The folder with this project's package.json (the one that ships schemas/ and templates/). */
export function projectRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'schemas', 'defs.schema.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the schemas/ folder of the rsync installation');
    dir = up;
  }
  root = dir;
  return root;
}

export function schemasDir(): string {
  return path.join(projectRoot(), 'schemas');
}
