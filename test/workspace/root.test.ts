import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { findWorkspaceRoot, workspaceRoot } from '../../engine/workspace/root.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rsync-root-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ws = path.join(dir, 'ws');
mkdirSync(path.join(ws, 'integrations', 'northwind'), { recursive: true });
writeFileSync(path.join(ws, 'rsync.yaml'), 'apiVersion: rsync/v1\n');
writeFileSync(path.join(ws, 'integrations', 'northwind', 'customer.yaml'), '');
const outside = path.join(dir, 'elsewhere');
mkdirSync(outside);

describe('finding the workspace root', () => {
  it('finds rsync.yaml in the folder, above it, or above a file', async () => {
    expect(await findWorkspaceRoot(ws)).toBe(ws);
    expect(await findWorkspaceRoot(path.join(ws, 'integrations', 'northwind'))).toBe(ws);
    expect(await findWorkspaceRoot(path.join(ws, 'integrations', 'northwind', 'customer.yaml'))).toBe(ws);
    expect(await workspaceRoot(path.join(ws, 'integrations'))).toBe(ws);
  });

  it('gives one message and hint, naming the path asked for, when there is none', async () => {
    // The temporary folder may itself sit below a workspace on some machines: only assert when it does not.
    if (await findWorkspaceRoot(outside)) return;
    expect(await findWorkspaceRoot(outside)).toBeUndefined();
    expect(await findWorkspaceRoot(path.join(dir, 'no-such-folder'))).toBeUndefined();
    const e = await workspaceRoot(outside).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RsyncError);
    expect((e as RsyncError).message).toBe(`No rsync.yaml in ${outside} or any folder above it.`);
    expect((e as RsyncError).exitCode).toBe(ExitCode.NO_INPUT);
    expect((e as RsyncError).hint).toBe(
      'Run the command inside a workspace, give its folder as the path, or create one with `rsync init <dir>`.',
    );
  });
});
