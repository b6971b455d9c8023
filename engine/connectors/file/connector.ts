/**
 * The `file` connector: the legacy file-transfer case — CSV and JSON Lines files dropped in a folder (an SFTP
 * landing directory, a mounted share) are read as streams, and entities are written as JSON Lines files.
 *
 * Settings (see spec.ts beside this file):
 *
 *   folder: /srv/drops/acme          # absolute, or relative to the worker's working directory
 *   format: csv                      # csv (default) | jsonl — the default for every stream
 *   streams:
 *     orders: { pattern: "orders-*.csv", format: csv, settleMs: 1000 }   # every key optional
 *   entities:
 *     order: { file: order.jsonl }   # default <entity>.jsonl
 *
 * Reading, and why it is safe across crashes:
 * - A stream's files are those whose name matches its pattern (default `*.csv` or `*.jsonl`, by format; matched
 *   case-insensitively because Windows-side exports often say .CSV). Hidden files (rsync and editors write their
 *   temp copies as dotfiles), `.tmp` / `.part` files and files modified less than `settleMs` ago are still being
 *   written and are left alone.
 * - Files are read one at a time in a stable order (mtime, then name), in pages of `limit` records; a page never
 *   spans two files. The cursor is `{ file, line }`: the file being read and how many of its records were
 *   delivered. The pipeline persists a cursor only after the page's records are committed, and hands it back.
 * - A file is consumed once. When the page that ends a file is committed, its `commit()` records the file's
 *   name and sha256 in `.processed/manifest.jsonl` (fsynced) and then renames the file into `.processed/`.
 *   A crash before commit leaves the file in place and the persisted cursor says where to resume (re-reading is
 *   harmless: the ledger dedupes). A crash between the manifest line and the rename leaves a file the manifest
 *   already knows: it is treated as the duplicate it is. The move is deferred to `commit()` even when a read
 *   finds the cursor's file already exhausted, so nothing is moved aside on the strength of an uncommitted cursor.
 * - A file dropped again with the same name and the same content (sha256) is never read again: it is moved
 *   into `.processed/` under a `.dup` name. The same name with different content is new data (a daily export
 *   that reuses its name) and is read.
 * - Contract with the sender: a file is not rewritten in place once it has settled (drop a new name instead);
 *   the cursor names a file, not a content, so a rewrite under the cursor would resume mid-way into new data.
 * - Several streams of one connection share the folder and `.processed/`: their patterns must not overlap, and
 *   an entity file written into the folder must not match a stream's pattern (the connection would read its own
 *   output).
 * - `since` / `until` do not apply: a file drop has no time window; every unconsumed file is read.
 *
 * Size bound: a file is read whole into memory and parsed once (kept for the following pages of the same file),
 * which is fine up to MAX_FILE_BYTES (50 MB: parsed, about ten times that in memory and two seconds of CPU). A
 * larger file is refused with a permanent error asking for smaller files rather than streamed: no drop we
 * integrate with comes near it, and streaming would need a byte cursor.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseJsonLossless } from '../../util/json.js';
import { ConnectorError, itemText } from '../types.js';
import type * as io from '../types.js';

/** Above this a file is refused (see the header comment). */
export const MAX_FILE_BYTES = 50 * 1024 * 1024;
/** Where consumed files go, beside the manifest that remembers them. */
export const PROCESSED_DIR = '.processed';
const MANIFEST = 'manifest.jsonl';
/** How much of a malformed line an __error record carries (enough to recognise it, never a whole file). */
const RAW_LINE_MAX = 200;
const DEFAULT_SETTLE_MS = 1000;

type Format = 'csv' | 'jsonl';

/** Where a file stream resumes: the file being read and the number of its records already delivered. */
export interface FileCursor {
  file: string;
  line: number;
}

/** One line of `.processed/manifest.jsonl`. */
interface ManifestEntry {
  name: string;
  sha256: string;
  at: string;
  stream?: string;
  records?: number;
  /** The name the file was given in `.processed/` when its own name was taken there. */
  storedAs?: string;
}

interface StreamConfig {
  format: Format;
  pattern: RegExp;
  settleMs: number;
}

interface Candidate {
  name: string;
  size: number;
  mtimeMs: number;
}

/** A file read and parsed: its records in order, and the hash the manifest will record for it. */
interface Loaded {
  name: string;
  sha256: string;
  records: unknown[];
}

export function openFile(ctx: io.ConnectorContext): io.OpenConnector {
  const settings = ctx.settings;
  if (typeof settings.folder !== 'string' || settings.folder === '') {
    throw new ConnectorError('file: settings.folder is required (the drop folder)', false);
  }
  const folder = path.resolve(process.cwd(), settings.folder);
  const processed = path.join(folder, PROCESSED_DIR);
  const defaultFormat = parseFormat(settings.format, 'settings.format') ?? 'csv';
  const streams = optionalObject(settings.streams, 'settings.streams');
  const entities = optionalObject(settings.entities, 'settings.entities');

  // The file being paged through, parsed once: without it every page would re-read and re-parse the whole file.
  let cached: { key: string; loaded: Loaded } | undefined;
  // sha256 of files whose name the manifest knows, so a duplicate left in place is not re-hashed on every poll.
  const hashes = new Map<string, string>();

  function streamConfig(stream: string): StreamConfig {
    const where = `settings.streams.${stream}`;
    const o = optionalObject(streams[stream], where);
    const format = parseFormat(o.format, `${where}.format`) ?? defaultFormat;
    let pattern = `*.${format}`;
    if (o.pattern !== undefined) {
      if (typeof o.pattern !== 'string' || o.pattern === '' || /[\\/]/.test(o.pattern)) {
        throw new ConnectorError(
          `file: ${where}.pattern must be a glob on the file name (no folder), e.g. "orders-*.csv"`,
          false,
        );
      }
      pattern = o.pattern;
    }
    let settleMs = DEFAULT_SETTLE_MS;
    if (o.settleMs !== undefined) {
      if (typeof o.settleMs !== 'number' || !Number.isFinite(o.settleMs) || o.settleMs < 0) {
        throw new ConnectorError(`file: ${where}.settleMs must be a number of milliseconds (0 or more)`, false);
      }
      settleMs = o.settleMs;
    }
    return { format, pattern: globToRegExp(pattern), settleMs };
  }

  function entityFile(entity: string): string {
    const where = `settings.entities.${entity}`;
    const o = optionalObject(entities[entity], where);
    const file = o.file ?? `${entity}.jsonl`;
    // A plain name only: an entity setting must not be able to write outside the folder or into .processed/.
    if (typeof file !== 'string' || file === '' || file !== path.basename(file) || file.startsWith('.')) {
      throw new ConnectorError(
        `file: ${where}.file must be a file name inside the folder (no path, not hidden)`,
        false,
      );
    }
    return file;
  }

  async function readManifest(): Promise<Map<string, Set<string>>> {
    const byName = new Map<string, Set<string>>();
    let text: string;
    try {
      text = await fs.readFile(path.join(processed, MANIFEST), 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return byName;
      throw ioError(e, 'cannot read the .processed manifest');
    }
    for (const line of text.split('\n')) {
      // A line torn by a crash mid-append is skipped: its file was not renamed yet and will be read again.
      let entry: Partial<ManifestEntry>;
      try {
        entry = JSON.parse(line) as Partial<ManifestEntry>;
      } catch {
        continue;
      }
      if (typeof entry?.name !== 'string' || typeof entry.sha256 !== 'string') continue;
      let set = byName.get(entry.name);
      if (!set) byName.set(entry.name, (set = new Set()));
      set.add(entry.sha256);
    }
    return byName;
  }

  /** The stream's readable files, oldest first; duplicates of consumed files are moved aside on the way. */
  async function candidates(cfg: StreamConfig, manifest: Map<string, Set<string>>): Promise<Candidate[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch (e) {
      if (errno(e) === 'ENOENT') throw new ConnectorError(`file: the drop folder ${folder} does not exist`, false);
      throw ioError(e, `cannot list the drop folder ${folder}`);
    }
    const now = Date.now();
    const out: Candidate[] = [];
    for (const entry of entries) {
      const name = entry.name;
      if (!entry.isFile() || name.startsWith('.') || /\.(tmp|part)$/i.test(name) || !cfg.pattern.test(name)) continue;
      let stat: import('node:fs').Stats;
      try {
        stat = await fs.stat(path.join(folder, name));
      } catch (e) {
        if (errno(e) === 'ENOENT') continue; // taken by a concurrent commit or by the sender between readdir and stat
        throw ioError(e, `cannot stat ${name}`);
      }
      if (now - stat.mtimeMs < cfg.settleMs) continue; // still being written, most likely
      const known = manifest.get(name);
      if (known) {
        const hashKey = `${name}\0${stat.size}\0${stat.mtimeMs}`;
        let sha = hashes.get(hashKey);
        if (sha === undefined) {
          sha = sha256Of(await readWhole(name, stat.size));
          hashes.set(hashKey, sha);
        }
        if (known.has(sha)) {
          // The very content already consumed: moving it aside loses nothing and stops it being hashed each poll.
          await moveToProcessed(name, 'dup');
          continue;
        }
      }
      out.push({ name, size: stat.size, mtimeMs: stat.mtimeMs });
    }
    // Plain code-unit comparison of names, not localeCompare: the order must not depend on the worker's locale.
    return out.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async function readWhole(name: string, size: number): Promise<Buffer> {
    if (size > MAX_FILE_BYTES) {
      throw new ConnectorError(
        `file: ${name} is ${Math.ceil(size / 1024 / 1024)} MB, above the ${MAX_FILE_BYTES / 1024 / 1024} MB limit: ask the sender to split it`,
        false,
      );
    }
    try {
      return await fs.readFile(path.join(folder, name));
    } catch (e) {
      throw ioError(e, `cannot read ${name}`);
    }
  }

  async function load(file: Candidate, cfg: StreamConfig): Promise<Loaded> {
    const key = `${file.name}\0${file.size}\0${file.mtimeMs}\0${cfg.format}`;
    if (cached?.key === key) return cached.loaded;
    const bytes = await readWhole(file.name, file.size);
    const text = bytes.toString('utf8').replace(/^\uFEFF/, ''); // Excel writes a BOM; it is not part of the first header
    const records = cfg.format === 'csv' ? csvRecords(text, file.name) : jsonlRecords(text, file.name);
    const loaded: Loaded = { name: file.name, sha256: sha256Of(bytes), records };
    cached = { key, loaded };
    return loaded;
  }

  /**
   * A name in .processed/ that does not overwrite an earlier file (rename would replace it silently): the file's
   * own name when free, else `<stem>.<tag><ext>`, `<stem>.<tag>-2<ext>`… A duplicate always gets its tag, so
   * the name alone tells it apart from the copy that was read.
   */
  async function freeProcessedName(name: string, tag: string): Promise<string> {
    if (tag !== 'dup' && !(await exists(path.join(processed, name)))) return name;
    const ext = path.extname(name);
    const stem = name.slice(0, name.length - ext.length);
    for (let n = 1; ; n++) {
      const candidate = `${stem}.${tag}${n > 1 ? `-${n}` : ''}${ext}`;
      if (!(await exists(path.join(processed, candidate)))) return candidate;
    }
  }

  /** Moves a duplicate aside (never into the manifest: the copy that was read is already there). */
  async function moveToProcessed(name: string, tag: string): Promise<void> {
    await mkdirp(processed);
    const target = await freeProcessedName(name, tag);
    try {
      await fs.rename(path.join(folder, name), path.join(processed, target));
    } catch (e) {
      // Already gone (another worker polling the same folder moved it): nothing left to do.
      if (errno(e) !== 'ENOENT') throw ioError(e, `cannot move ${name} to ${PROCESSED_DIR}/`);
    }
  }

  /** Consumes files whose every record is committed: manifest line first (fsynced), then the rename. */
  async function consume(files: Loaded[], stream: string): Promise<void> {
    for (const f of files) {
      // Gone already: commit() called twice, or another worker consumed it. A second manifest line would be noise.
      if (!(await exists(path.join(folder, f.name)))) continue;
      await mkdirp(processed);
      const storedAs = await freeProcessedName(f.name, f.sha256.slice(0, 12));
      const entry: ManifestEntry = {
        name: f.name,
        sha256: f.sha256,
        at: new Date().toISOString(),
        stream,
        records: f.records.length,
      };
      if (storedAs !== f.name) entry.storedAs = storedAs;
      await appendLines(path.join(processed, MANIFEST), `${JSON.stringify(entry)}\n`, true).catch((e: unknown) => {
        throw ioError(e, 'cannot append to the .processed manifest');
      });
      try {
        await fs.rename(path.join(folder, f.name), path.join(processed, storedAs));
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw ioError(e, `cannot move ${f.name} to ${PROCESSED_DIR}/`);
      }
      if (cached?.loaded === f) cached = undefined;
    }
  }

  async function read(req: io.ReadRequest): Promise<io.Page> {
    req.signal?.throwIfAborted();
    const cfg = streamConfig(req.stream);
    const cursor = parseCursor(req.cursor);
    const limit = Math.max(1, Math.floor(req.limit));
    if (Number.isNaN(limit)) throw new ConnectorError('file: the read limit must be a number', false);

    const files = await candidates(cfg, await readManifest());
    // Finish the cursor's file before any other, wherever it now sorts; a cursor whose file is gone (consumed)
    // simply means "the next file".
    let i = cursor ? files.findIndex((f) => f.name === cursor.file) : -1;
    let offset = i >= 0 && cursor ? cursor.line : 0;
    if (i < 0) i = 0;

    // Files found fully delivered on the way (the cursor's file whose last page was committed but not yet moved,
    // empty files): consumed with this page's commit, never here, since this read may precede any commit.
    const finished: Loaded[] = [];
    for (; i < files.length; i++, offset = 0) {
      const loaded = await load(files[i]!, cfg);
      if (offset >= loaded.records.length) {
        finished.push(loaded);
        continue;
      }
      const end = Math.min(offset + limit, loaded.records.length);
      const last = end === loaded.records.length;
      const toConsume = last ? [...finished, loaded] : finished;
      return {
        records: loaded.records.slice(offset, end),
        cursor: { file: loaded.name, line: end } satisfies FileCursor,
        more: !last || i + 1 < files.length,
        ...(toConsume.length > 0 ? { commit: () => consume(toConsume, req.stream) } : {}),
      };
    }
    const lastFinished = finished.at(-1);
    return {
      records: [],
      cursor: lastFinished
        ? ({ file: lastFinished.name, line: lastFinished.records.length } satisfies FileCursor)
        : (req.cursor ?? null),
      more: false,
      ...(finished.length > 0 ? { commit: () => consume(finished, req.stream) } : {}),
    };
  }

  async function write(entity: string, items: io.WriteItem[], signal?: AbortSignal): Promise<io.WriteResult[]> {
    signal?.throwIfAborted();
    const file = entityFile(entity);
    const lines: string[] = [];
    const results: io.WriteResult[] = [];
    for (const item of items) {
      try {
        // The write id lets whoever reads the file drop a line that a crash made rsync append twice (the append
        // landed, the ledger's commit did not): a file cannot tell rsync which lines it already holds.
        const id = item.writeId === undefined ? '' : `"write":${JSON.stringify(item.writeId)},`;
        lines.push(`{"key":${JSON.stringify(item.key)},${id}"record":${itemText(item)}}`);
        results.push({ ok: true, targetId: item.key });
      } catch (e) {
        // A BigInt or a cycle: that record cannot be JSON, the rest of the batch still can.
        results.push({
          ok: false,
          transient: false,
          error: `record ${item.key} cannot be written as JSON: ${message(e)}`,
        });
      }
    }
    if (lines.length > 0) {
      try {
        await mkdirp(folder);
        // One append for the batch: a batch lands whole or (on a crash mid-write) torn at the end, never interleaved.
        await appendLines(path.join(folder, file), `${lines.join('\n')}\n`, false);
      } catch (e) {
        throw e instanceof ConnectorError ? e : ioError(e, `cannot append to ${file}`);
      }
    }
    return results;
  }

  return { connector: 'file', read, write };
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

interface CsvRow {
  fields: string[];
  /** The physical line (1-based) the row starts on. */
  line: number;
  /** Where the row's text is in the file (offsets), cut out only for an error record. */
  start: number;
  end: number;
}

/**
 * RFC 4180 rows: fields separated by commas, rows by CRLF or LF (a lone CR too); a field starting with a quote
 * runs to the closing quote, may hold commas and line breaks, and writes a quote as "". A quote inside an
 * unquoted field is kept as a character, as spreadsheets write them (5" screen); so is text after a closing
 * quote. Empty lines are skipped. A file that ends inside a quoted field is refused as a whole: the open quote
 * swallows the rest of the file, so there is no telling where its rows were (most often an upload cut short).
 * Fields are cut out with slice() rather than built a character at a time: a 50 MB file must parse in seconds.
 */
export function parseCsv(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  const n = text.length;
  let fields: string[] = [];
  let line = 1;
  let rowLine = 1;
  let rowStart = 0;
  let i = 0;
  // The next comma or line break from lastIndex: a regex scan is several times faster than a loop over characters.
  const delimiter = /[,\r\n]/g;
  const nextDelimiter = (from: number) => {
    delimiter.lastIndex = from;
    return delimiter.exec(text)?.index ?? n;
  };

  while (i < n) {
    // At the start of a field.
    let field: string;
    if (text[i] === '"') {
      const quoteLine = line;
      field = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          throw new ConnectorError(
            `${file}:${quoteLine}: unclosed quote (the file ends inside a quoted field; was the upload cut short?)`,
            false,
          );
        }
        const chunk = text.slice(j, q);
        for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
        field += chunk;
        if (text[q + 1] === '"') {
          field += '"';
          j = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Anything between the closing quote and the next delimiter is kept, not an error (what spreadsheets do).
      const tail = i;
      i = nextDelimiter(i);
      if (i > tail) field += text.slice(tail, i);
    } else {
      const from = i;
      i = nextDelimiter(i);
      field = text.slice(from, i);
    }
    fields.push(field);

    if (text[i] === ',') {
      i++;
      if (i < n) continue;
      fields.push(''); // a trailing comma at the very end of the file: one more, empty, field
    }
    // A line break or the end of the file ends the row; a line holding nothing at all is no row.
    const end = i;
    if (!(fields.length === 1 && fields[0] === '' && end === rowStart))
      rows.push({ fields, line: rowLine, start: rowStart, end });
    fields = [];
    if (i < n) {
      i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    }
    rowLine = line;
    rowStart = i;
  }
  return rows;
}

/**
 * CSV records: the header row names the fields; every value stays a string (amounts are decimal strings, codes
 * keep their leading zeros). A row whose field count differs from the header's becomes an error record
 * `{ __error, __line }` so the pipeline dead-letters that row and goes on with the file.
 */
function csvRecords(text: string, file: string): unknown[] {
  const [header, ...rows] = parseCsv(text, file);
  if (!header) return [];
  const seen = new Set<string>();
  for (const name of header.fields) {
    if (seen.has(name))
      throw new ConnectorError(`${file}:${header.line}: the header names column "${name}" twice`, false);
    seen.add(name);
  }
  const names = header.fields;
  return rows.map((row) =>
    row.fields.length === names.length
      ? // fromEntries defines own properties, so a column called __proto__ is data, not a prototype.
        Object.fromEntries(names.map((name, k) => [name, row.fields[k]!]))
      : errorRecord(
          `${file}:${row.line}: expected ${names.length} fields as in the header, found ${row.fields.length}`,
          text.slice(row.start, row.end),
        ),
  );
}

/**
 * JSON Lines records: one JSON object per line; blank lines are skipped. A line that is not valid JSON, or not
 * an object, does not stop the file: it becomes an error record `{ __error: "<file>:<line>: <message>",
 * __line: "<the raw text, at most 200 characters>" }`, which the pipeline dead-letters like any record that
 * fails, while the lines around it are delivered normally.
 */
function jsonlRecords(text: string, file: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k]!.replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = parseJsonLossless(raw);
    } catch (e) {
      out.push(errorRecord(`${file}:${k + 1}: ${message(e)}`, raw));
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      out.push(errorRecord(`${file}:${k + 1}: expected a JSON object, found ${found}`, raw));
    } else out.push(value);
  }
  return out;
}

function errorRecord(error: string, raw: string): { __error: string; __line: string } {
  return { __error: error, __line: raw.length > RAW_LINE_MAX ? raw.slice(0, RAW_LINE_MAX) : raw };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** `*` any run of characters, `?` one character; everything else literal. Case-insensitive (see the header). */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}

function parseCursor(cursor: unknown): FileCursor | null {
  if (cursor === null || cursor === undefined) return null;
  const c = cursor as Partial<FileCursor>;
  if (typeof c === 'object' && typeof c.file === 'string' && Number.isInteger(c.line) && c.line! >= 0) {
    return { file: c.file, line: c.line! };
  }
  throw new ConnectorError('file: the cursor is not { file, line } — was it written by another connector type?', false);
}

function parseFormat(value: unknown, where: string): Format | undefined {
  if (value === undefined) return undefined;
  if (value === 'csv' || value === 'jsonl') return value;
  throw new ConnectorError(`file: ${where} must be csv or jsonl`, false);
}

function optionalObject(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new ConnectorError(`file: ${where} must be an object`, false);
}

/**
 * Appends text, starting a new line first if the file ends mid-line (an append torn by a crash), so the torn line
 * stays one bad line instead of swallowing the next good one. `sync` makes the line durable before returning.
 */
async function appendLines(file: string, text: string, sync: boolean): Promise<void> {
  const fh = await fs.open(file, 'a+');
  try {
    const { size } = await fh.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await fh.appendFile(prefix + text);
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
}

async function mkdirp(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw ioError(e, `cannot create ${dir}`);
  }
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? ((e as NodeJS.ErrnoException).code ?? undefined) : undefined;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Missing paths and permissions need an operator (permanent); anything else (EIO, EMFILE, ENOSPC…) may pass. */
function ioError(e: unknown, what: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const code = errno(e);
  const permanent =
    code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' || code === 'EISDIR';
  return new ConnectorError(`file: ${what}: ${code ?? message(e)}`, !permanent);
}
