/**
 * The desired-state cache: a commit never changes, so once a commit has been loaded, validated and turned into
 * desired state for an environment, the content hash of every resource is known for good. A later plan of the
 * same commit compares those hashes with the deployed ones first; when they all agree (the common "anything to
 * do?" question of CI and of a reconciling loop), the plan is empty without reading the workspace again. When they
 * do not (plan, then apply, of the same commit), the full desired state is read from the cache instead of loading
 * and validating the workspace a second time.
 *
 * The key includes a fingerprint of this rsync build (engine code, schemas and library versions: engine/util/build.ts),
 * so an upgrade never trusts a cache written by an older validator. Stored under `.rsync/cache/` (git-ignored); safe
 * to delete at any time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { STATE_DIR } from '../util/paths.js';
import { engineBuild, writeAtomically } from '../util/build.js';
import type { Branding } from '../workspace/branding.js';
import type { DeployableResource } from './types.js';

export interface CachedDesired {
  version: 1;
  build: string;
  env: string;
  commit: string;
  customers: string[];
  branding: Branding;
  /** [address, customer, kind, name, hash, template] */
  resources: [string, string | null, string, string, string, string | null][];
}

function fileOf(root: string, env: string, commit: string, part: 'summary' | 'full' = 'summary'): string {
  return path.join(root, STATE_DIR, 'cache', 'desired', `${env}-${commit}.${part}.json`);
}

export interface CachedFull {
  build: string;
  resources: DeployableResource[];
  blobs: Record<string, string>;
}

/** The full desired state of a commit (resources with their specs, and mapping texts), if cached by this build. */
export function readDesiredFull(root: string, env: string, commit: string): CachedFull | undefined {
  try {
    const c = JSON.parse(readFileSync(fileOf(root, env, commit, 'full'), 'utf8')) as CachedFull;
    return c.build === engineBuild() ? c : undefined;
  } catch {
    return undefined;
  }
}

export function readDesiredCache(root: string, env: string, commit: string): CachedDesired | undefined {
  try {
    const c = JSON.parse(readFileSync(fileOf(root, env, commit), 'utf8')) as CachedDesired;
    return c.version === 1 && c.build === engineBuild() && c.env === env && c.commit === commit ? c : undefined;
  } catch {
    return undefined;
  }
}

export function writeDesiredCache(
  root: string,
  env: string,
  commit: string,
  customers: string[],
  branding: Branding,
  resources: DeployableResource[],
  blobs: Map<string, string>,
): void {
  const value: CachedDesired = {
    version: 1,
    build: engineBuild(),
    env,
    commit,
    customers,
    branding,
    resources: resources.map((r) => [r.address, r.customer, r.kind, r.name, r.hash, r.template]),
  };
  try {
    // The full part first: a summary is only ever next to its full state.
    const full: CachedFull = { build: value.build, resources, blobs: Object.fromEntries(blobs) };
    writeAtomically(fileOf(root, env, commit, 'full'), JSON.stringify(full));
    writeAtomically(fileOf(root, env, commit), JSON.stringify(value));
  } catch {
    /* a cache is optional: a read-only workspace plans the slow way */
  }
}
