/**
 * Secrets by reference: `{ secretRef: "env:NAME" }` reads an environment variable, `{ secretRef: "file:/path" }`
 * a file (trailing newline trimmed). Resolved only when a connector needs the value; every value resolved is
 * remembered so that `redact` can scrub it from any message before it is logged or kept in a dead letter.
 */
import { readFileSync } from 'node:fs';
import { ConnectorError, type SecretResolver } from './types.js';

const seen = new Set<string>();

export function isSecretRef(v: unknown): v is { secretRef: string } {
  return typeof v === 'object' && v !== null && typeof (v as { secretRef?: unknown }).secretRef === 'string';
}

/** The value of a secret reference; a plain string passes through (connectors accept either where the catalogue allows). */
export const resolveSecret: SecretResolver = (ref: unknown): string => {
  if (typeof ref === 'string') return ref;
  if (!isSecretRef(ref))
    throw new ConnectorError(
      'a secret is missing: expected { secretRef: "env:NAME" } or { secretRef: "file:/path" }',
      false,
    );
  const r = ref.secretRef;
  let value: string | undefined;
  if (r.startsWith('env:')) {
    value = process.env[r.slice(4)];
    if (value === undefined || value === '')
      throw new ConnectorError(`secret ${r} is not set: export ${r.slice(4)} in the worker's environment`, false);
  } else if (r.startsWith('file:')) {
    try {
      value = readFileSync(r.slice(5), 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new ConnectorError(`secret ${r} cannot be read: the file does not exist or is not readable`, false);
    }
  } else throw new ConnectorError(`secret reference ${r} is not env:NAME or file:/path`, false);
  if (value.length >= 4) seen.add(value);
  return value;
};

/** The text with every secret value this process has resolved replaced by ***. */
export function redact(text: string): string {
  let out = text;
  for (const s of seen) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}
