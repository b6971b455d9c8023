/**
 * Secrets by reference, resolved only when a connector needs the value:
 *
 *   { secretRef: "env:NAME" }    the environment variable NAME
 *   { secretRef: "file:NAME" }   the file NAME inside the secrets folder (trailing newline trimmed): RSYNC_SECRETS_DIR
 *                                on this machine, else the `spec.secrets.folder` rsync.yaml declares (configureSecrets)
 *   { secretRef: "vault:PATH#FIELD" }, "aws:NAME", "gcp:NAME"
 *                                a secret manager's (secret-managers/): fetched ahead of use and kept for the TTL
 *                                rsync.yaml declares (secret-managers/cache.ts); this resolver reads that cache
 *
 * A file is read only when its real path (symbolic links followed) lies inside the folder's real path, and only when
 * it is a regular file of at most 64 KB; anything else is refused before a byte of it is read. Validation refuses
 * what it can see in the files (engine/validate); this is the same rule again where the file is opened.
 *
 * Every value resolved, and every credential a connector derives from one (`rememberSecret`: a Basic header's
 * base64 of `user:password`), is remembered so that `redact` scrubs it from any message before it is logged or kept:
 * as written, and in each encoding an API might echo it back in (see `encodingsOf`).
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  DECLARE_SECRETS_FOLDER,
  MAX_SECRET_FILE_BYTES,
  parseSecretRef,
  SECRETS_DIR_ENV,
  secretFileProblem,
} from '../model/secret-ref.js';
import type { SecretsSettings } from '../model/generated/index.js';
import { cachedSecret, configureSecretManagers } from './secret-managers/cache.js';
import { ConnectorError, type SecretResolver } from './types.js';

export function isSecretRef(v: unknown): v is { secretRef: string } {
  return typeof v === 'object' && v !== null && typeof (v as { secretRef?: unknown }).secretRef === 'string';
}

// ---- the secrets folder -------------------------------------------------------------------------------------------

/** The folder the workspace declares (`spec.secrets.folder`), set by the command that runs flows. */
let declaredFolder: string | undefined;

/**
 * Tell the resolver where the workspace keeps secret files (rsync.yaml's `spec.secrets.folder`; undefined: nowhere)
 * and, with `settings` (rsync.yaml's whole `spec.secrets`), which secret managers it uses and for how long a fetched
 * value is kept.
 */
export function configureSecrets(o: { folder?: string; settings?: SecretsSettings }): void {
  declaredFolder = o.folder;
  if ('settings' in o) configureSecretManagers(o.settings);
}

/** This machine's secrets folder and where that came from: RSYNC_SECRETS_DIR over rsync.yaml. */
function secretsFolder(): { folder: string; from: string } | undefined {
  const own = process.env[SECRETS_DIR_ENV];
  if (own) return { folder: own, from: SECRETS_DIR_ENV };
  if (declaredFolder) return { folder: declaredFolder, from: 'spec.secrets.folder in rsync.yaml' };
  return undefined;
}

const refuse = (message: string) => new ConnectorError(message, false);

/** The contents of `file:rel`, or a permanent ConnectorError saying why it is refused (the file is not read then). */
function readSecretFile(ref: string, rel: string): string {
  const problem = secretFileProblem(rel);
  if (problem)
    throw refuse(`secret ${ref} ${problem}: name a file inside the secrets folder, e.g. file:northwind/shopify-token`);
  const where = secretsFolder();
  if (!where) throw refuse(`secret ${ref} is a file, but no secrets folder is declared: ${DECLARE_SECRETS_FOLDER}`);
  const named = `the secrets folder ${where.folder} (${where.from})`;
  if (!path.isAbsolute(where.folder)) throw refuse(`${named} is not an absolute path`);
  let root: string;
  try {
    root = realpathSync(where.folder);
    if (!statSync(root).isDirectory()) throw new Error('not a folder');
  } catch {
    throw refuse(`${named} does not exist or is not a folder`);
  }
  let real: string;
  try {
    real = realpathSync(path.join(root, rel));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `secret ${ref} does not exist in ${named}`
        : `secret ${ref} cannot be read in ${named} (${code ?? 'error'})`,
    );
  }
  const inside = root === path.sep ? real.startsWith(root) : real.startsWith(root + path.sep);
  if (!inside)
    throw refuse(`secret ${ref} is a symbolic link that leads outside ${named}: refused, the file is not read`);
  const st = statSync(real);
  if (!st.isFile())
    throw refuse(`secret ${ref} is not a regular file (a folder, a device, a pipe or a socket): refused`);
  if (st.size > MAX_SECRET_FILE_BYTES)
    throw refuse(`secret ${ref} is ${Math.ceil(st.size / 1024)} KB, larger than a secret (at most 64 KB): refused`);
  let fd: number;
  try {
    // No link may have been put in its place since (O_NOFOLLOW), and a pipe must not block the worker (O_NONBLOCK).
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw refuse(`secret ${ref} cannot be read in ${named} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const now = fstatSync(fd);
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev)
      throw refuse(`secret ${ref} was replaced while it was opened: refused`);
    const buf = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_SECRET_FILE_BYTES) throw refuse(`secret ${ref} is larger than a secret (at most 64 KB): refused`);
    const value = buf
      .subarray(0, n)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (value === '') throw refuse(`secret ${ref} is an empty file`);
    return value;
  } finally {
    closeSync(fd);
  }
}

/** The value of a secret reference; a plain string passes through (connectors accept either where the catalogue allows). */
export const resolveSecret: SecretResolver = (ref: unknown): string => {
  if (typeof ref === 'string') return ref;
  if (!isSecretRef(ref))
    throw refuse(
      'a secret is missing: expected { secretRef: "env:NAME" }, "file:NAME" or a secret manager\'s "vault:PATH#FIELD"',
    );
  const r = ref.secretRef;
  const parsed = parseSecretRef(r);
  let value: string;
  if (parsed?.kind === 'env') {
    const v = process.env[parsed.name];
    if (v === undefined || v === '')
      throw refuse(`secret ${r} is not set: export ${parsed.name} in the worker's environment`);
    value = v;
  } else if (parsed?.kind === 'file') value = readSecretFile(r, parsed.path);
  else if (parsed?.kind === 'remote') value = cachedSecret(r, parsed.scheme, parsed.name);
  else throw refuse(`secret reference ${r} is not env:NAME, file:NAME, vault:PATH#FIELD, aws:NAME or gcp:NAME`);
  resolved.add(value);
  return value;
};

// ---- redaction ----------------------------------------------------------------------------------------------------

/** Secrets shorter than this are not scrubbed (they would match ordinary words). */
const MIN_SECRET = 4;
/** A partial encoding (the base64 of a secret inside a longer value) shorter than this is not scrubbed. */
const MIN_FRAGMENT = 8;

const upperHex = (s: string) => s.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
const toUrl = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * Every form in which `secret` may come back in a message: as written; URL-encoded (encodeURIComponent, and
 * application/x-www-form-urlencoded with + for a space, each with upper- and lower-case hex); JSON-escaped (as
 * JSON.stringify writes it, with non-ASCII as \uXXXX, with / as \/); HTML-escaped; base64 and base64url, whole, and
 * in the middle of a longer base64 value (`user:secret` in a Basic header) at each of its 3 alignments, the
 * characters that depend on the secret alone (the 1 or 2 at each end that mix in a neighbour's bits stay).
 */
export function encodingsOf(secret: string): string[] {
  const out = new Set<string>([secret]);
  const uri = encodeURIComponent(secret);
  const form = new URLSearchParams([['', secret]]).toString().slice(1);
  for (const v of [uri, form]) out.add(upperHex(v)).add(lowerHex(v));
  const json = JSON.stringify(secret).slice(1, -1);
  out.add(json);
  out.add(json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  const html = secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  out.add(html.replace(/'/g, '&#39;')).add(html.replace(/'/g, '&#x27;'));
  const bytes = Buffer.from(secret, 'utf8');
  const b64 = bytes.toString('base64');
  out.add(b64).add(b64.replace(/=+$/, '')).add(toUrl(b64));
  for (let k = 0; k < 3; k++) {
    const enc = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const fragment = enc.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
    if (fragment.length >= MIN_FRAGMENT) out.add(fragment).add(toUrl(fragment));
  }
  for (const v of [...out]) if (v.includes('/')) out.add(v.replace(/\//g, '\\/'));
  return [...out].filter((v) => v.length >= MIN_SECRET);
}

/** A set of secrets, each scrubbed from text in all its encodings. */
export class SecretSet {
  private readonly values = new Set<string>();
  /** Every encoding of every value, longest first: a whole encoding goes before a shorter one inside it. */
  private forms: string[] = [];

  add(value: string): void {
    if (value.length < MIN_SECRET || this.values.has(value)) return;
    this.values.add(value);
    this.forms = [...new Set([...this.forms, ...encodingsOf(value)])].sort((a, b) => b.length - a.length);
  }

  /** The text with every secret of the set, in any of its encodings, replaced by ***. */
  redact(text: string): string {
    let out = text;
    // A search per form, not one alternation: a secret file may hold up to 64 KB, too large for a RegExp.
    for (const f of this.forms) if (out.includes(f)) out = out.split(f).join('***');
    return out;
  }
}

/** Every secret this process resolved, and every credential connectors derived from one. */
const resolved = new SecretSet();

/**
 * Remember a credential a connector computed from a secret (a Basic header's base64 of `user:password`, a signed
 * token), so that `redact` scrubs it too. Call it where the credential is built, before it is sent anywhere.
 */
export function rememberSecret(value: string): void {
  resolved.add(value);
}

/** The text with every secret value this process has resolved (or remembered) replaced by ***, in any encoding. */
export function redact(text: string): string {
  return resolved.redact(text);
}

/** A copy of plain data (a record, a log entry) with `redact` applied to every string in it, keys included. */
export function redactValue<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), walk(x)]));
    return v;
  };
  return walk(value) as T;
}
