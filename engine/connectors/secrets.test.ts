/**
 * Secrets (engine/connectors/secrets.ts): `file:` references are read only inside the secrets folder (relative
 * paths, real paths, regular files, small ones), and `redact` scrubs each secret in every encoding an API may echo
 * it back in.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  configureSecrets,
  encodingsOf,
  redact,
  redactValue,
  rememberSecret,
  resolveSecret,
  SecretSet,
} from './secrets.js';
import { ConnectorError } from './types.js';

const file = (name: string) => ({ secretRef: `file:${name}` });

/** The permanent ConnectorError `f` throws. */
function refusal(f: () => unknown): ConnectorError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorError);
    expect((e as ConnectorError).transient).toBe(false);
    return e as ConnectorError;
  }
  throw new Error('expected a refusal');
}

describe('file: secrets', () => {
  let tmp: string;
  let folder: string;
  const saved = process.env.RSYNC_SECRETS_DIR;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rsync-secrets-'));
    folder = path.join(tmp, 'secrets');
    mkdirSync(path.join(folder, 'northwind'), { recursive: true });
    writeFileSync(path.join(folder, 'northwind', 'shopify-token'), 'shpat-from-a-file\n');
    writeFileSync(path.join(folder, 'crlf'), 'windows-line-end\r\n');
    writeFileSync(path.join(folder, 'empty'), '');
    writeFileSync(path.join(folder, 'big'), 'x'.repeat(64 * 1024 + 1));
    writeFileSync(path.join(folder, 'just-64k'), 'y'.repeat(64 * 1024));
    writeFileSync(path.join(tmp, 'outside'), 'not-a-secret-of-ours');
    symlinkSync(path.join(tmp, 'outside'), path.join(folder, 'link-out'));
    symlinkSync('northwind/shopify-token', path.join(folder, 'link-in'));
    symlinkSync(tmp, path.join(folder, 'northwind', 'up'));
    symlinkSync('/etc/hostname', path.join(folder, 'hostname'));
    execFileSync('mkfifo', [path.join(folder, 'fifo')]);
    // The folder itself may be a link (Kubernetes mounts secrets through ..data links).
    symlinkSync(folder, path.join(tmp, 'mounted'));
  });

  afterEach(() => {
    // No folder and no secret manager: what another test file of the same process configured is gone too.
    configureSecrets({ settings: undefined });
    if (saved === undefined) delete process.env.RSYNC_SECRETS_DIR;
    else process.env.RSYNC_SECRETS_DIR = saved;
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('are refused when no folder is declared, saying how to declare one', () => {
    delete process.env.RSYNC_SECRETS_DIR;
    const e = refusal(() => resolveSecret(file('northwind/shopify-token')));
    expect(e.message).toContain('no secrets folder is declared');
    expect(e.message).toContain('spec: { secrets: { folder: /run/secrets/acme } }');
    expect(e.message).toContain('RSYNC_SECRETS_DIR');
    expect(refusal(() => resolveSecret(file('/etc/hostname'))).message).toContain('is an absolute path');
  });

  it('resolve a relative path inside the declared folder, or inside RSYNC_SECRETS_DIR, which wins', () => {
    delete process.env.RSYNC_SECRETS_DIR;
    configureSecrets({ folder });
    expect(resolveSecret(file('northwind/shopify-token'))).toBe('shpat-from-a-file');
    expect(resolveSecret(file('crlf'))).toBe('windows-line-end');
    expect(resolveSecret(file('link-in'))).toBe('shpat-from-a-file'); // a link that stays inside
    expect(resolveSecret(file('just-64k'))).toHaveLength(64 * 1024);
    configureSecrets({ folder: path.join(tmp, 'nowhere') });
    process.env.RSYNC_SECRETS_DIR = path.join(tmp, 'mounted');
    expect(resolveSecret(file('northwind/shopify-token'))).toBe('shpat-from-a-file');
  });

  it('refuse absolute paths, .., and links that lead outside the folder, without reading them', () => {
    configureSecrets({ folder });
    const cases: [string, string][] = [
      ['/etc/hostname', 'is an absolute path'],
      [path.join(folder, 'northwind', 'shopify-token'), 'is an absolute path'],
      ['../outside', 'leaves the folder with ..'],
      ['northwind/../../outside', 'leaves the folder with ..'],
      ['northwind//shopify-token', 'empty or "." segment'],
      ['./crlf', 'empty or "." segment'],
      ['northwind\\shopify-token', 'backslash'],
      ['crlf\u0000.txt', 'control character'],
      ['', 'names no file'],
      ['link-out', 'symbolic link that leads outside'],
      ['hostname', 'symbolic link that leads outside'],
      ['northwind/up/outside', 'symbolic link that leads outside'],
    ];
    for (const [rel, why] of cases) {
      const e = refusal(() => resolveSecret(file(rel)));
      expect(e.message, rel).toContain(why);
      expect(e.message, rel).not.toContain('not-a-secret-of-ours');
    }
  });

  it('refuse what is not a small regular file: a folder, a pipe (without blocking), an oversized or empty file', () => {
    configureSecrets({ folder });
    expect(refusal(() => resolveSecret(file('northwind'))).message).toContain('not a regular file');
    expect(refusal(() => resolveSecret(file('fifo'))).message).toContain('not a regular file');
    expect(refusal(() => resolveSecret(file('big'))).message).toContain('larger than a secret (at most 64 KB)');
    expect(refusal(() => resolveSecret(file('empty'))).message).toContain('is an empty file');
    expect(refusal(() => resolveSecret(file('missing'))).message).toContain('does not exist in the secrets folder');
  });

  it('refuse a secrets folder that is relative or missing', () => {
    process.env.RSYNC_SECRETS_DIR = 'relative/secrets';
    expect(refusal(() => resolveSecret(file('crlf'))).message).toContain(
      'the secrets folder relative/secrets (RSYNC_SECRETS_DIR) is not an absolute path',
    );
    delete process.env.RSYNC_SECRETS_DIR;
    configureSecrets({ folder: path.join(tmp, 'nowhere') });
    expect(refusal(() => resolveSecret(file('crlf'))).message).toContain(
      '(spec.secrets.folder in rsync.yaml) does not exist or is not a folder',
    );
  });

  it('leave env: references as they were', () => {
    configureSecrets({ settings: undefined });
    process.env.RSYNC_SECRETS_TEST_ENV = 'from-the-environment';
    expect(resolveSecret({ secretRef: 'env:RSYNC_SECRETS_TEST_ENV' })).toBe('from-the-environment');
    expect(refusal(() => resolveSecret({ secretRef: 'env:RSYNC_SECRETS_TEST_UNSET' })).message).toContain(
      'export RSYNC_SECRETS_TEST_UNSET',
    );
    expect(refusal(() => resolveSecret({ secretRef: 'hsm:x' })).message).toContain('is not env:NAME, file:NAME');
    // A secret manager's reference with no such manager in rsync.yaml: refused for good, not retried.
    expect(refusal(() => resolveSecret({ secretRef: 'vault:x' })).message).toContain(
      'rsync.yaml configures no vault secret manager',
    );
  });
});

describe('redact', () => {
  // Every character class an encoding treats differently: space, +, /, &, =, quotes, backslash, <, non-ASCII.
  const SECRET = 'cl1ent s3cret+/&="q\'\\<é>~!';
  const ID = 'rsync-app';
  beforeAll(() => {
    process.env.RSYNC_REDACT_TEST = SECRET;
    resolveSecret({ secretRef: 'env:RSYNC_REDACT_TEST' });
  });

  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const forms: Record<string, string> = {
    raw: SECRET,
    encodeURIComponent: encodeURIComponent(SECRET),
    'encodeURIComponent, lower-case hex': encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    'form-urlencoded': new URLSearchParams({ s: SECRET }).toString().slice(2),
    'JSON-escaped': JSON.stringify(SECRET).slice(1, -1),
    'JSON-escaped, ASCII only': JSON.stringify(SECRET).slice(1, -1).replace(/é/g, '\\u00e9'),
    'JSON-escaped, / escaped': JSON.stringify(SECRET).slice(1, -1).replace(/\//g, '\\/'),
    base64: b64(SECRET),
    base64url: Buffer.from(SECRET).toString('base64url'),
    'HTML-escaped': SECRET.replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;'),
  };

  for (const [name, encoded] of Object.entries(forms)) {
    it(`scrubs the secret ${name}`, () => {
      const out = redact(`HTTP 400 Bad Request: {"error":"invalid_client","echo":"${encoded}","n":1}`);
      expect(out).toBe('HTTP 400 Bad Request: {"error":"invalid_client","echo":"***","n":1}');
    });
  }

  it('scrubs the secret inside a longer base64 value at each of its 3 alignments (a Basic header of id:secret)', () => {
    for (const prefix of [`${ID}:`, `${ID}x:`, `${ID}xy:`]) {
      const header = b64(`${prefix}${SECRET}`);
      const out = redact(`Authorization: Basic ${header}`);
      const [before, after] = out.replace('Authorization: Basic ', '').split('***');
      // What is left: the prefix's own characters, then at most one that mixes its last bits with the secret's
      // first; at the end, at most one character that mixes the secret's last bits with padding, and the padding.
      expect(header.startsWith(before) && header.endsWith(after)).toBe(true);
      expect(before.length).toBeLessThanOrEqual(Math.floor((8 * prefix.length) / 6) + 1);
      expect(after.replace(/=+$/, '').length).toBeLessThanOrEqual(1);
    }
  });

  it('scrubs a derived credential remembered where it is built, whole', () => {
    const basic = b64(`${ID}:an-unrelated-password`);
    rememberSecret(basic);
    expect(redact(`sent Basic ${basic}, got 401`)).toBe('sent Basic ***, got 401');
  });

  it('leaves text without secrets alone, and ignores values too short to be secrets', () => {
    const text = 'POST /oauth/token: HTTP 400 Bad Request: {"error":"invalid_grant"}';
    expect(redact(text)).toBe(text);
    rememberSecret('abc');
    expect(redact('abc abcd')).toBe('abc abcd');
  });

  it('scrubs every string of a value, keys included, and a SecretSet only its own secrets', () => {
    expect(redactValue({ reason: `echo ${encodeURIComponent(SECRET)}`, n: 2, list: [SECRET], [SECRET]: true })).toEqual(
      {
        reason: 'echo ***',
        n: 2,
        list: ['***'],
        '***': true,
      },
    );
    const own = new SecretSet();
    own.add('at-123-access-token');
    expect(own.redact(`Bearer at-123-access-token and ${SECRET}`)).toBe(`Bearer *** and ${SECRET}`);
  });

  it('lists each encoding once, longest forms before the shorter ones inside them', () => {
    const all = encodingsOf(SECRET);
    expect(new Set(all).size).toBe(all.length);
    for (const f of Object.values(forms)) expect(all).toContain(f);
  });
});
