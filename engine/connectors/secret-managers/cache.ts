/**
 * Values of secret-manager references (`vault:`, `aws:`, `gcp:`), fetched when needed and kept in memory only, for
 * the bounded time rsync.yaml declares (`spec.secrets.cacheTtl`, default 5m).
 *
 * Connectors resolve secrets synchronously (ctx.secret, at each request), so the fetch happens before they ask:
 * `prefetchSecrets(settings)` fetches every remote reference of a connection that is missing or older than the TTL,
 * and registry.ts awaits it before each read, write, lookup, check and fetch of a connector. The synchronous
 * `cachedSecret` then answers from memory. A path that cannot wait (a webhook's signature check) is answered with
 * the value it has for up to twice the TTL while a refresh runs in the background; with none, a transient
 * ConnectorError asks the caller to retry while the first fetch runs. So a rotated value reaches a running worker
 * within one TTL of its rotation, without a restart, and a value is never kept longer than twice the TTL.
 *
 * Nothing here writes a value anywhere: each is remembered for redaction (secrets.ts) by the manager that read it,
 * and again here.
 */
import type { SecretsSettings } from '../../model/generated/index.js';
import { parseSecretRef } from '../../model/secret-ref.js';
import { parseDuration } from '../../util/duration.js';
import { rememberSecret } from '../secrets.js';
import { ConnectorError } from '../types.js';
import { SECRET_MANAGERS } from './index.js';
import type { SecretManager } from './types.js';

export const DEFAULT_CACHE_TTL_MS = 5 * 60_000;

interface Entry {
  value?: string;
  fetchedAt: number;
  /** The last fetch's failure, when it failed and no value is usable. */
  error?: ConnectorError;
  inflight?: Promise<void>;
}

let settings: SecretsSettings | undefined;
let env: NodeJS.ProcessEnv = process.env;
let ttlMs = DEFAULT_CACHE_TTL_MS;
const managers = new Map<string, SecretManager>();
const entries = new Map<string, Entry>();
/** The clock; tests move it. */
let now = () => Date.now();

/**
 * Use rsync.yaml's `spec.secrets` from now on: its managers' settings and the TTL. What was fetched before is
 * forgotten and the managers made before are closed (a new workspace, a test).
 */
export function configureSecretManagers(s: SecretsSettings | undefined, e: NodeJS.ProcessEnv = process.env): void {
  void closeSecretManagers();
  settings = s;
  env = e;
  ttlMs = parseDuration(s?.cacheTtl) ?? DEFAULT_CACHE_TTL_MS;
}

/** For tests: the clock the TTL is measured by. */
export function setSecretClock(clock: () => number): void {
  now = clock;
}

/** Close every manager made and forget every value fetched. */
export async function closeSecretManagers(): Promise<void> {
  const all = [...managers.values()];
  managers.clear();
  entries.clear();
  await Promise.all(all.map((m) => m.close?.().catch(() => {})));
}

function managerFor(scheme: string, ref: string): SecretManager {
  const made = managers.get(scheme);
  if (made) return made;
  const factory = SECRET_MANAGERS[scheme];
  if (!factory) throw new ConnectorError(`secret ${ref}: this rsync has no ${scheme}: secret manager built in`, false);
  const own = (settings as Record<string, unknown> | undefined)?.[scheme];
  if (!own || typeof own !== 'object')
    throw new ConnectorError(
      `secret ${ref} is in ${scheme}, but rsync.yaml configures no ${scheme} secret manager: declare spec.secrets.${scheme}`,
      false,
    );
  const m = factory(own as Record<string, unknown>, env);
  managers.set(scheme, m);
  return m;
}

/** Every remote reference (`vault:…`, `aws:…`, `gcp:…`) in plain data, once each. */
export function remoteRefs(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) remoteRefs(v, out);
  else if (value && typeof value === 'object') {
    const ref = (value as { secretRef?: unknown }).secretRef;
    if (typeof ref === 'string') {
      if (parseSecretRef(ref)?.kind === 'remote') out.add(ref);
    } else for (const v of Object.values(value)) remoteRefs(v, out);
  }
  return out;
}

function refresh(ref: string, scheme: string, name: string): Promise<void> {
  const e = entries.get(ref) ?? { fetchedAt: 0 };
  entries.set(ref, e);
  e.inflight ??= (async () => {
    try {
      const value = await managerFor(scheme, ref).fetch(name);
      rememberSecret(value);
      e.value = value;
      e.fetchedAt = now();
      e.error = undefined;
    } catch (err) {
      e.error = err instanceof ConnectorError ? err : new ConnectorError(String((err as Error).message ?? err), true);
      // A secret that no longer exists or may no longer be read is not served from memory either.
      if (!e.error.transient) e.value = undefined;
      throw e.error;
    } finally {
      e.inflight = undefined;
    }
  })();
  return e.inflight;
}

const fresh = (e: Entry | undefined) => e?.value !== undefined && now() - e.fetchedAt < ttlMs;

/** Fetch every remote reference in `value` that has no value younger than the TTL; throws the first failure. */
export async function prefetchSecrets(value: unknown): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const ref of remoteRefs(value)) {
    if (fresh(entries.get(ref))) continue;
    const p = parseSecretRef(ref);
    if (p?.kind === 'remote') waits.push(refresh(ref, p.scheme, p.name));
  }
  if (waits.length) await Promise.all(waits);
}

/** The value of a remote reference from memory (see the header for what happens when it is stale or missing). */
export function cachedSecret(ref: string, scheme: string, name: string): string {
  const e = entries.get(ref);
  if (fresh(e)) return e!.value!;
  managerFor(scheme, ref); // no such manager: refused now, for good
  if (e?.value !== undefined && now() - e.fetchedAt < 2 * ttlMs) {
    refresh(ref, scheme, name).catch(() => {});
    return e.value;
  }
  if (e?.error && !e.inflight) {
    const err = e.error;
    if (err.transient) refresh(ref, scheme, name).catch(() => {});
    throw err;
  }
  refresh(ref, scheme, name).catch(() => {});
  throw new ConnectorError(`secret ${ref} is being fetched from ${scheme}: retry in a moment`, true, 1000);
}

/** The methods of an open connector that may send a request with a secret, and so wait for its fetch first. */
const USES_SECRETS = ['read', 'lookup', 'check', 'write', 'fetch'] as const;

/**
 * `open` with its remote secrets (those in `settings`) fetched before each call that may use them, and fetched now
 * for its synchronous paths (a webhook's signature check); `open` itself when its settings have none.
 */
export function withSecretsFetched<T extends object>(open: T, settingsOfConnection: unknown): T {
  if (remoteRefs(settingsOfConnection).size === 0) return open;
  prefetchSecrets(settingsOfConnection).catch(() => {});
  const out = { ...open } as Record<string, unknown>;
  for (const m of USES_SECRETS) {
    const f = (open as Record<string, unknown>)[m];
    if (typeof f !== 'function') continue;
    out[m] = async (...args: unknown[]) => {
      await prefetchSecrets(settingsOfConnection);
      return f.apply(open, args);
    };
  }
  return out as T;
}
