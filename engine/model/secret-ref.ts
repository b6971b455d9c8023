/**
 * What a `{ secretRef: "…" }` says, read the same way by validation (engine/validate) and at run time
 * (engine/connectors/secrets.ts): `env:NAME` is an environment variable; `file:NAME` is the file NAME inside the
 * workspace's secrets folder (`spec.secrets.folder` in rsync.yaml, or RSYNC_SECRETS_DIR on a worker's machine).
 * A file reference is a plain relative path: no absolute path, no `..`, nothing that could name a file outside the
 * folder before a symbolic link is even looked at (run time also checks where links lead). `vault:`, `aws:` and
 * `gcp:` name a secret in the manager rsync.yaml configures (`spec.secrets.vault`, …), fetched at run time.
 */
import path from 'node:path';
import type { Workspace } from './workspace.js';
import { fields, named } from './guards.js';
import type { SecretsSettings } from './generated/index.js';

/** The environment variable that names a machine's secrets folder, over what rsync.yaml declares. */
export const SECRETS_DIR_ENV = 'RSYNC_SECRETS_DIR';

/** A secret is a token, a password or a key: a file larger than this is not one (a PEM private key is ~3 KB). */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** How a partner declares the folder, for messages. */
export const DECLARE_SECRETS_FOLDER =
  'declare where the worker machines keep secret files in rsync.yaml (`spec: { secrets: { folder: /run/secrets/acme } }`) or set RSYNC_SECRETS_DIR where rsync runs';

/** The schemes of secret managers (engine/connectors/secret-managers): their values are fetched, then cached. */
export const REMOTE_SCHEMES = ['vault', 'aws', 'gcp'] as const;

export type ParsedSecretRef =
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string }
  /** `vault:customers/northwind/shopify#token`: scheme `vault`, name `customers/northwind/shopify#token`. */
  | { kind: 'remote'; scheme: string; name: string };

/** `env:NAME`, `file:NAME` or `<manager>:NAME`; undefined for any other form (the schema reports it). */
export function parseSecretRef(ref: string): ParsedSecretRef | undefined {
  if (ref.startsWith('env:')) return { kind: 'env', name: ref.slice(4) };
  if (ref.startsWith('file:')) return { kind: 'file', path: ref.slice(5) };
  const colon = ref.indexOf(':');
  const scheme = ref.slice(0, colon);
  if (colon > 0 && colon < ref.length - 1 && (REMOTE_SCHEMES as readonly string[]).includes(scheme))
    return { kind: 'remote', scheme, name: ref.slice(colon + 1) };
  return undefined;
}

/** rsync.yaml's `spec.secrets` as written (the schema checks its shape), if any. */
export function declaredSecretsSettings(ws: Workspace): SecretsSettings | undefined {
  const s = ws.settings?.spec.secrets;
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as SecretsSettings) : undefined;
}

/**
 * Why the path of a `file:` reference is refused, as a phrase ("is an absolute path"), or undefined when it is a
 * relative path that stays inside the folder: segments separated by `/`, none empty, `.` or `..`, no backslash and
 * no control character.
 */
export function secretFileProblem(rel: string): string | undefined {
  if (rel === '') return 'names no file';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(rel)) return 'contains a control character';
  if (rel.startsWith('/') || /^[A-Za-z]:/.test(rel)) return 'is an absolute path';
  if (rel.includes('\\')) return 'contains a backslash (folders are separated by /)';
  const parts = rel.split('/');
  if (parts.includes('..')) return 'leaves the folder with ..';
  if (parts.some((p) => p === '' || p === '.')) return 'has an empty or "." segment';
  return undefined;
}

/** The secrets folder rsync.yaml declares (`spec.secrets.folder`), if any. */
export function declaredSecretsFolder(ws: Workspace): string | undefined {
  return named(fields<SecretsSettings>(ws.settings?.spec.secrets).folder);
}

/** For an absolute `file:` path inside `folder`: the relative reference to write instead. */
export function relativeInside(folder: string, absolute: string): string | undefined {
  const rel = path.posix.relative(path.posix.normalize(folder), path.posix.normalize(absolute));
  return rel && !rel.startsWith('..') && !path.posix.isAbsolute(rel) ? rel : undefined;
}
