/**
 * Bounded reads of a user's files (engine/util/files.ts): a regular file reads as text, a link is followed; a
 * folder, a device (a link to /dev/zero, which would be read for ever), a FIFO (which would wait for a writer) and
 * a file over the limit are refused with exit 66 and a message naming the file, without being read.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, RsyncError } from '../../engine/diagnostics/errors.js';
import { readTextFile } from '../../engine/util/files.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(file: string, maxBytes?: number): RsyncError {
  try {
    readTextFile(file, { maxBytes });
  } catch (e) {
    if (e instanceof RsyncError) return e;
    throw e;
  }
  throw new Error(`${file} was read`);
}

describe('readTextFile', () => {
  it('reads a regular file, and a link to one; nothing there is undefined', () => {
    const file = path.join(dir, 'a.yaml');
    writeFileSync(file, 'name: é\n');
    symlinkSync(file, path.join(dir, 'link.yaml'));
    expect(readTextFile(file)).toBe('name: é\n');
    expect(readTextFile(path.join(dir, 'link.yaml'))).toBe('name: é\n');
    expect(readTextFile(path.join(dir, 'missing.yaml'))).toBeUndefined();
    expect(readTextFile(path.join(dir, 'a.yaml', 'below'))).toBeUndefined();
  });

  it('refuses a folder', () => {
    mkdirSync(path.join(dir, 'rsync.yaml'));
    const e = refusal(path.join(dir, 'rsync.yaml'));
    expect(e.exitCode).toBe(ExitCode.NO_INPUT);
    expect(e.message).toBe(`Cannot read ${path.join(dir, 'rsync.yaml')}: it is a folder, not a regular file.`);
  });

  it('refuses a link to /dev/zero at once, as a device', () => {
    symlinkSync('/dev/zero', path.join(dir, 'zero.yaml'));
    const started = Date.now();
    const e = refusal(path.join(dir, 'zero.yaml'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(e.exitCode).toBe(ExitCode.NO_INPUT);
    expect(e.message).toBe(`Cannot read ${path.join(dir, 'zero.yaml')}: it is a device, not a regular file.`);
    expect(e.hint).toBe('Replace it with a file.');
  });

  it('refuses a FIFO without waiting for a writer', () => {
    const fifo = path.join(dir, 'fifo.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(refusal(fifo).message).toBe(`Cannot read ${fifo}: it is a FIFO (named pipe), not a regular file.`);
  });

  it('refuses a file larger than the limit, and a link that loops', () => {
    const big = path.join(dir, 'big.json');
    writeFileSync(big, 'x'.repeat(2048));
    expect(readTextFile(big, { maxBytes: 2048 })).toHaveLength(2048);
    const e = refusal(big, 2047);
    expect(e.message).toBe(`Cannot read ${big}: it is 2,048 bytes, larger than the 2,047 bytes rsync reads.`);
    expect(e.exitCode).toBe(ExitCode.NO_INPUT);
    symlinkSync(path.join(dir, 'loop-b'), path.join(dir, 'loop-a'));
    symlinkSync(path.join(dir, 'loop-a'), path.join(dir, 'loop-b'));
    expect(refusal(path.join(dir, 'loop-a')).message).toMatch(/: it is a symbolic link that loops\.$/);
  });
});
