import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { readPlanFile, writePlanFile } from '../../engine/plan/file.js';
import { PLAN_FORMAT, type Plan } from '../../engine/plan/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rsync-plan-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plan = {
  version: PLAN_FORMAT,
  format: PLAN_FORMAT,
  env: 'staging',
  ref: 'main',
  commit: 'abc',
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'test',
  customers: null,
  workspace: { id: '0123456789abcdef', name: 'acme-integrations', partner: 'Acme Retail Integrations', folder: null },
  basis: { stateHash: 'h', resources: 0 },
  changes: [],
  drift: [],
  summary: { create: 0, update: 0, delete: 0, unchanged: 0, drift: 0, byCustomer: {}, byTemplate: {} },
  blobs: {},
  branding: {},
  empty: true,
} satisfies Plan;

function refusal(file: string): RsyncError {
  try {
    readPlanFile(file);
  } catch (e) {
    if (e instanceof RsyncError) return e;
    throw e;
  }
  throw new Error(`${file} was read as a plan`);
}

function fileWith(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('the plan file', () => {
  it('reads back exactly what was written, as indented JSON ending in a newline', () => {
    const file = path.join(dir, 'plan.json');
    writePlanFile(file, plan);
    expect(readPlanFile(file)).toEqual(plan);
  });

  it('refuses a file that cannot be read', () => {
    const e = refusal(path.join(dir, 'missing.json'));
    expect(e.message).toMatch(/^Cannot read the plan .*missing\.json: ENOENT/);
    expect(e.exitCode).toBe(ExitCode.NO_INPUT);
    expect(e.hint).toBe('Make one with `rsync plan --out plan.json`.');
  });

  it('refuses a folder or a link to /dev/zero by name, at once, without reading it', () => {
    mkdirSync(path.join(dir, 'folder.json'));
    const folder = refusal(path.join(dir, 'folder.json'));
    expect(folder.message).toBe(
      `Cannot read the plan ${path.join(dir, 'folder.json')}: it is a folder, not a regular file.`,
    );
    expect(folder.exitCode).toBe(ExitCode.NO_INPUT);
    expect(folder.hint).toBe('Make one with `rsync plan --out plan.json`.');
    symlinkSync('/dev/zero', path.join(dir, 'zero.json'));
    const zero = refusal(path.join(dir, 'zero.json'));
    expect(zero.message).toBe(
      `Cannot read the plan ${path.join(dir, 'zero.json')}: it is a device, not a regular file.`,
    );
    expect(zero.exitCode).toBe(ExitCode.NO_INPUT);
  });

  it('refuses a file that is not JSON', () => {
    const e = refusal(fileWith('broken.json', '{ "format": 1,'));
    expect(e.message).toMatch(/^Cannot read the plan .*broken\.json: /);
    expect(e.exitCode).toBe(ExitCode.NO_INPUT);
  });

  it('refuses JSON that is not a plan', () => {
    for (const [name, text] of [
      ['array.json', '[]'],
      ['null.json', 'null'],
      ['no-env.json', '{ "changes": [] }'],
    ]) {
      const e = refusal(fileWith(name, text));
      expect(e.message).toBe(`${path.join(dir, name)} is not an rsync plan.`);
      expect(e.exitCode).toBe(ExitCode.NO_INPUT);
    }
  });

  it('refuses a plan of another format: a newer one, and format 1 (before plans carried their workspace)', () => {
    for (const format of [PLAN_FORMAT + 1, 1]) {
      const { workspace: _, ...old } = plan;
      const e = refusal(fileWith(`v${format}.json`, JSON.stringify({ ...(format === 1 ? old : plan), format })));
      expect(e.message).toBe(`This plan has format ${format}; this rsync applies format ${PLAN_FORMAT}.`);
      expect(e.exitCode).toBe(ExitCode.NO_INPUT);
      expect(e.hint).toBe('Make the plan again with this version of rsync.');
    }
  });

  it('reads `version` (issue 21) and a plan file written before it, with `format` alone', () => {
    const { version: _, ...before } = plan;
    expect(readPlanFile(fileWith('before.json', JSON.stringify(before))).env).toBe('staging');
    const { format: __, ...versionOnly } = plan;
    expect(readPlanFile(fileWith('version.json', JSON.stringify(versionOnly))).env).toBe('staging');
    const newer = refusal(fileWith('newer.json', JSON.stringify({ ...versionOnly, version: PLAN_FORMAT + 1 })));
    expect(newer.message).toBe(`This plan has format ${PLAN_FORMAT + 1}; this rsync applies format ${PLAN_FORMAT}.`);
  });
});
