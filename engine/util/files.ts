/**
 * Reading a user's file as text, bounded: only a regular file, and only up to a size. A folder, a device (a link to
 * /dev/zero would be read for ever), a FIFO (it would wait for a writer) or a socket is refused without being read,
 * and so is a file larger than the limit (it would fill the memory), each with a message that names the file.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';

/** The largest workspace file rsync reads (YAML, JSONata, a mapping test's fixture): 16 MiB. */
export const MAX_WORKSPACE_FILE_BYTES = 16 * 1024 * 1024;

/** The largest plan file `rsync apply` reads: 256 MiB. */
export const MAX_PLAN_FILE_BYTES = 256 * 1024 * 1024;

/** A size as exact as messages need it: `16 MiB` for whole mebibytes, else `17,825,793 bytes`. */
export function formatBytes(n: number): string {
  const MiB = 1024 * 1024;
  if (n > 0 && n % MiB === 0) return `${n / MiB} MiB`;
  return `${n.toLocaleString('en-US')} byte${n === 1 ? '' : 's'}`;
}

/** What a path is, when it is not a regular file. */
function kindOf(st: ReturnType<typeof fstatSync>): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface ReadTextOptions {
  /** The largest size read (default MAX_WORKSPACE_FILE_BYTES). */
  maxBytes?: number;
  /** How the file is named in messages (default: the path as given). */
  label?: string;
  /** The hint of the error (default: replace it with a regular file, or make it smaller). */
  hint?: string;
}

/**
 * The text of `file` (UTF-8), or undefined when nothing is there. Anything else that is not a regular file of at
 * most `maxBytes` is an RsyncError (exit 66) naming the file; a symbolic link is followed, so a link to a regular
 * file reads as that file and a link to /dev/zero is refused as a device.
 */
export function readTextFile(file: string, opts: ReadTextOptions = {}): string | undefined {
  const max = opts.maxBytes ?? MAX_WORKSPACE_FILE_BYTES;
  const label = opts.label ?? file;
  const refuse = (why: string, hint?: string): never => {
    throw new RsyncError(`Cannot read ${label}: ${why}.`, ExitCode.NO_INPUT, opts.hint ?? hint);
  };
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below, once fstat says what it is).
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    if (err.code === 'ELOOP') return refuse('it is a symbolic link that loops', 'Point the link at a file.');
    return refuse(err.code === 'EACCES' ? 'permission denied' : err.message, 'Check its permissions.');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      refuse(
        `it is ${kindOf(st)}, not a regular file`,
        st.isDirectory() ? `Remove or rename the folder; rsync expects a file there.` : 'Replace it with a file.',
      );
    if (st.size > max)
      refuse(
        `it is ${formatBytes(st.size)}, larger than the ${formatBytes(max)} rsync reads`,
        'Make it smaller (split it into several files).',
      );
    // Read to the end, but never past the limit: a file may have grown since fstat.
    let buf = Buffer.allocUnsafe(Math.min(st.size, max) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > max) refuse(`it grew past the ${formatBytes(max)} rsync reads`, 'Make it smaller.');
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, max + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return buf.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}
