/**
 * A fingerprint of this rsync build, for caches that hold what the engine computed (engine/plan/cache.ts,
 * engine/load/content-cache.ts): a cache written by another build is never trusted. It covers the engine's files
 * and the schemas (path, size, modification time) and the versions of the libraries whose output is cached or
 * decides validity (YAML and JSONata parsers, Ajv, cron-parser).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from './paths.js';

const LIBRARIES = ['ajv', 'cron-parser', 'js-yaml', 'jsonata', 'yaml'];

let buildId: string | undefined;

export function engineBuild(): string {
  if (buildId) return buildId;
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|ts|json|sql)$/.test(e.name)) {
        const s = statSync(p);
        h.update(`${p}\0${s.size}\0${s.mtimeMs}\n`);
      }
    }
  };
  walk(path.dirname(path.dirname(fileURLToPath(import.meta.url)))); // engine/ (source or build)
  walk(path.join(projectRoot(), 'schemas'));
  for (const name of LIBRARIES) h.update(`${name}@${libraryVersion(name)}\n`);
  buildId = h.digest('hex').slice(0, 16);
  return buildId;
}

/** The installed version of a dependency (from the package.json above its entry point), or "?" when not found. */
function libraryVersion(name: string): string {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve(name));
    for (;;) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === name) return pkg.version ?? '?';
      } catch {
        /* no package.json here: look further up */
      }
      const up = path.dirname(dir);
      if (up === dir) return '?';
      dir = up;
    }
  } catch {
    return '?';
  }
}

/** Write a cache file so that readers never see half of it: a temporary file, then a rename. */
export function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
