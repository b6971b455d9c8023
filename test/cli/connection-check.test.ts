/**
 * `rsync connection check` (cli/commands/connection/check.ts), as a partner runs it: the built CLI in a child
 * process, on a copy of the example workspace whose staging Square connection points at the fake Square server
 * (engine/connectors/square/fake.ts) on 127.0.0.1. A good token reports the seller, the scopes and one page of each
 * stream Contoso's flows read; a missing scope fails (exit 1) naming it; a wrong token is a one-line error without
 * the token (exit 1); a server that is gone is exit 69.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_SCOPES,
  FAKE_SQUARE_TOKEN,
  startFakeSquare,
  type FakeSquare,
} from '../../engine/connectors/square/fake.js';
import { exampleRepo, runCli } from '../helpers/cli.js';

const CONNECTION = 'integrations/contoso/connections/square.yaml';
/** Contoso's staging Square location (the connection's locationIds). */
const LOCATIONS = [
  { id: 'LSBX0DUBLIN01', name: 'Dublin showroom', status: 'ACTIVE', merchant_id: 'MLFAKE0RSYNC1', currency: 'EUR' },
];

describe('rsync connection check', { timeout: 120_000 }, () => {
  let repo: string;
  let fake: FakeSquare;
  const check = (token: string, ...extra: string[]) =>
    runCli(['connection', 'check', 'contoso/square', '--env', 'staging', ...extra], repo, {
      actor: 'ops <ops@acme.example>',
      env: { CONTOSO_SQUARE_SANDBOX_ACCESS_TOKEN: token },
    });
  const pointAt = (url: string) => {
    const file = path.join(repo, CONNECTION);
    const text = readFileSync(file, 'utf8').replace(/\n {6}baseUrl: .*/, '');
    writeFileSync(
      file,
      text.replace('      environment: sandbox\n', `      environment: sandbox\n      baseUrl: ${url}\n`),
    );
  };

  beforeAll(async () => {
    repo = exampleRepo('rsync-connection-check-');
    fake = await startFakeSquare({
      locations: LOCATIONS,
    });
    pointAt(fake.url);
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(repo, { recursive: true, force: true });
  });

  it('reports the seller, the permissions and one page of each stream the flows read', async () => {
    const r = await check(FAKE_SQUARE_TOKEN, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, env: 'staging', connection: 'contoso/square', connector: 'square' });
    expect(out.identity).toEqual(expect.any(String));
    expect(out.scopes.missing).toEqual([]);
    expect(out.streams.length).toBeGreaterThan(0);
    for (const s of out.streams) expect(s).toMatchObject({ ok: true });
    // Only the streams Contoso's flows read from this connection.
    const flows = out.streams.map((s: { stream: string }) => s.stream);
    expect(flows).toContain('orders');
    // The fake saw the pinned token and nothing else.
    expect(fake.calls.every((c) => c.status < 400)).toBe(true);
  });

  it('says which permission is missing, and exits 1', async () => {
    await fake.close();
    fake = await startFakeSquare({
      scopes: ALL_SCOPES.filter((s) => s !== 'ORDERS_READ'),
      locations: LOCATIONS,
    });
    pointAt(fake.url);
    const r = await check(FAKE_SQUARE_TOKEN);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/permissions\s+missing .*ORDERS_READ/);
  });

  it('a wrong token is a one-line error that never shows the token', async () => {
    const wrong = 'EAAAl-wrong-token-9876543210';
    const r = await check(wrong);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/contoso\/square: square: .*HTTP 401/);
    expect(r.stderr).toMatch(/credentials were refused/);
    expect(r.stderr + r.stdout).not.toContain(wrong);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a server that is gone is exit 69, "could not be reached"', async () => {
    const url = fake.url;
    await fake.close();
    pointAt(url);
    const r = await check(FAKE_SQUARE_TOKEN);
    expect(r.status).toBe(69);
    expect(r.stderr).toMatch(/network error|could not be reached/);
    fake = await startFakeSquare();
  });
});
