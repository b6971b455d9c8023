/**
 * The `file` connector (engine/connectors/file/connector.ts), in temp folders: RFC 4180 CSV (quotes, commas and line breaks
 * inside quotes, CRLF), values kept as strings; pages that cross a file boundary; commit() moving a file into
 * .processed/ with a manifest line; a crash before commit re-reading the same records from the persisted cursor,
 * the file consumed once; a re-dropped file skipped; an unsettled file left alone; malformed JSON Lines and
 * ragged CSV rows turned into __error records between good neighbours; writes appended as JSON Lines.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFile } from './connector.js';
import { ConnectorError, type Cursor, type OpenConnector, type Page } from '../types.js';

let dir: string;
/** The test's "now" for file ages: files dropped with the same age get the very same mtime. */
let now = 0;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rsync-file-'));
  now = Date.now();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a file into the drop folder, last modified `ageS` seconds ago (older files are read first). */
function drop(name: string, content: string, ageS = 60): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  // From the test's fixed now, not Date.now(): two drops a millisecond apart had different mtimes, and a test of
  // the order of files with equal mtimes failed now and then.
  const t = new Date(now - ageS * 1000);
  utimesSync(p, t, t);
  return p;
}

function open(settings: Record<string, unknown> = {}): OpenConnector {
  return openFile({ settings: { folder: dir, ...settings }, secret: () => '', system: 'acme/drops' });
}

async function readPage(c: OpenConnector, stream: string, cursor: Cursor | null, limit: number): Promise<Page> {
  return c.read!({ stream, cursor, limit });
}

/** What the pipeline does: read, "commit" (persist the cursor), then call the page's commit(); until no more. */
async function drain(c: OpenConnector, stream: string, cursor: Cursor | null, limit: number) {
  const records: unknown[] = [];
  for (let guard = 0; guard < 100; guard++) {
    const page = await readPage(c, stream, cursor, limit);
    records.push(...page.records);
    cursor = page.cursor;
    await page.commit?.();
    if (!page.more) return { records, cursor };
  }
  throw new Error('the stream never ended');
}

const processedDir = () => path.join(dir, '.processed');
const manifest = () =>
  readFileSync(path.join(processedDir(), 'manifest.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { name: string; sha256: string; at: string });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('CSV', () => {
  it('parses quotes, escaped quotes, commas and line breaks inside quotes, CRLF, and keeps values as strings', async () => {
    const csv =
      'id,name,total,note\r\n' +
      '0012,"Smith, Jane",19.90,"said ""hi"""\r\n' +
      '0013,Bob,1e3,"two\r\nlines"\r\n' +
      '0014,"",0.10,5" screen\r\n' +
      '\r\n'; // an empty trailing line is no record
    drop('orders.csv', csv);
    const page = await readPage(open(), 'orders', null, 10);
    expect(page.records).toEqual([
      { id: '0012', name: 'Smith, Jane', total: '19.90', note: 'said "hi"' },
      { id: '0013', name: 'Bob', total: '1e3', note: 'two\r\nlines' },
      { id: '0014', name: '', total: '0.10', note: '5" screen' },
    ]);
    expect(page.more).toBe(false);
    expect(page.cursor).toEqual({ file: 'orders.csv', line: 3 });
  });

  it('reads LF files without a final line break, with a BOM before the header', async () => {
    drop('a.csv', '\uFEFFsku,qty\nA-1,3\n"B\n2",04');
    const page = await readPage(open(), 's', null, 10);
    expect(page.records).toEqual([
      { sku: 'A-1', qty: '3' },
      { sku: 'B\n2', qty: '04' },
    ]);
  });

  it('turns a row with the wrong field count into an __error record naming file:line, and reads its neighbours', async () => {
    // CRLF, and a quoted line break before the bad row: its line number counts physical lines, not rows.
    drop('orders.csv', 'id,total\r\n1,"10.00\r\nnote"\r\n"multi\r\nline",2,extra\r\n3,30.00\r\n');
    const page = await readPage(open(), 'orders', null, 10);
    expect(page.records).toEqual([
      { id: '1', total: '10.00\r\nnote' },
      { __error: 'orders.csv:4: expected 2 fields as in the header, found 3', __line: '"multi\r\nline",2,extra' },
      { id: '3', total: '30.00' },
    ]);
  });

  it('refuses a file that ends inside a quoted field, permanently, naming file:line', async () => {
    drop('cut.csv', 'id,note\n1,ok\n2,"never closed\nmore text\n');
    const err = await readPage(open(), 'orders', null, 10).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).transient).toBe(false);
    expect((err as ConnectorError).message).toContain('cut.csv:3');
    expect(existsSync(path.join(dir, 'cut.csv'))).toBe(true); // not consumed
  });
});

describe('JSON Lines', () => {
  it('turns a malformed line into an __error record while its neighbours read fine', async () => {
    const long = `{"id": 3, "broken": ${'x'.repeat(300)}`;
    drop('events.jsonl', `{"id":1,"total":"10.00"}\r\n{"id":2,\n${long}\n[1,2]\n\n{"id":4}\n`);
    const page = await readPage(open({ format: 'jsonl' }), 'events', null, 10);
    expect(page.records).toHaveLength(5);
    expect(page.records[0]).toEqual({ id: 1, total: '10.00' });
    const bad = page.records[1] as { __error: string; __line: string };
    expect(bad.__error).toMatch(/^events\.jsonl:2: /);
    expect(bad.__error.length).toBeGreaterThan('events.jsonl:2: '.length); // carries JSON.parse's message
    expect(bad.__line).toBe('{"id":2,');
    const longBad = page.records[2] as { __error: string; __line: string };
    expect(longBad.__error).toMatch(/^events\.jsonl:3: /);
    expect(longBad.__line).toBe(long.slice(0, 200));
    expect(page.records[3]).toEqual({
      __error: 'events.jsonl:4: expected a JSON object, found an array',
      __line: '[1,2]',
    });
    expect(page.records[4]).toEqual({ id: 4 });
  });
});

describe('reading files in pages', () => {
  it('pages through files oldest first, one file per page, and commit() moves a finished file to .processed', async () => {
    drop('a-new.csv', 'n\nb1\nb2\n', 30); // sorts first by name, but is the newer file
    drop('z-old.csv', 'n\na1\na2\na3\n', 60);
    const c = open();

    const p1 = await readPage(c, 'items', null, 2);
    expect(p1.records).toEqual([{ n: 'a1' }, { n: 'a2' }]);
    expect(p1.cursor).toEqual({ file: 'z-old.csv', line: 2 });
    expect(p1.more).toBe(true);
    expect(p1.commit).toBeUndefined(); // the file is not finished: nothing to consume

    const p2 = await readPage(c, 'items', p1.cursor, 2);
    expect(p2.records).toEqual([{ n: 'a3' }]); // the page ends with the file
    expect(p2.cursor).toEqual({ file: 'z-old.csv', line: 3 });
    expect(p2.more).toBe(true);
    expect(existsSync(path.join(dir, 'z-old.csv'))).toBe(true); // only the commit consumes it
    await p2.commit!();
    await p2.commit!(); // a repeated commit is harmless
    expect(existsSync(path.join(dir, 'z-old.csv'))).toBe(false);
    expect(readFileSync(path.join(processedDir(), 'z-old.csv'), 'utf8')).toBe('n\na1\na2\na3\n');
    expect(manifest()).toEqual([expect.objectContaining({ name: 'z-old.csv', sha256: sha('n\na1\na2\na3\n') })]);

    const p3 = await readPage(c, 'items', p2.cursor, 2);
    expect(p3.records).toEqual([{ n: 'b1' }, { n: 'b2' }]);
    expect(p3.cursor).toEqual({ file: 'a-new.csv', line: 2 });
    expect(p3.more).toBe(false);
    await p3.commit!();
    expect(readdirSync(dir)).toEqual(['.processed']);
    expect(manifest().map((m) => m.name)).toEqual(['z-old.csv', 'a-new.csv']);

    const p4 = await readPage(c, 'items', p3.cursor, 2);
    expect(p4).toMatchObject({ records: [], more: false });
  });

  it('orders files of equal mtime by name, and honours a stream pattern and format', async () => {
    drop('orders-2.jsonl', '{"o":2}\n', 60);
    drop('orders-1.jsonl', '{"o":1}\n', 60);
    drop('refunds-1.jsonl', '{"r":1}\n', 60);
    drop('orders-3.jsonl.part', '{"o":3}\n', 60);
    drop('orders-4.jsonl.tmp', '{"o":4}\n', 60);
    drop('.orders-5.jsonl', '{"o":5}\n', 60); // rsync's temp copy
    const c = open({ streams: { orders: { pattern: 'orders-*.jsonl', format: 'jsonl' } } });
    const { records } = await drain(c, 'orders', null, 10);
    expect(records).toEqual([{ o: 1 }, { o: 2 }]);
    expect(existsSync(path.join(dir, 'refunds-1.jsonl'))).toBe(true);
  });

  it('consumes an empty or header-only file without delivering anything', async () => {
    drop('empty.csv', '', 90);
    drop('header.csv', 'id,total\r\n', 60);
    drop('data.csv', 'id\n7\n', 30);
    const { records } = await drain(open(), 's', null, 5);
    expect(records).toEqual([{ id: '7' }]);
    expect(readdirSync(dir)).toEqual(['.processed']);
    expect(
      manifest()
        .map((m) => m.name)
        .sort(),
    ).toEqual(['data.csv', 'empty.csv', 'header.csv']);
  });
});

describe('consumed once, even across crashes', () => {
  it('re-reads the uncommitted page from the persisted cursor, then consumes the file once', async () => {
    drop('orders.csv', 'id\n1\n2\n3\n4\n5\n');
    const first = open();
    const p1 = await readPage(first, 'orders', null, 2);
    const persisted = p1.cursor; // the pipeline committed p1
    await p1.commit?.();
    const lost = await readPage(first, 'orders', persisted, 2); // read, then the worker dies before the commit
    expect(lost.records).toEqual([{ id: '3' }, { id: '4' }]);

    const second = open(); // a new worker, from the persisted cursor
    const again = await readPage(second, 'orders', persisted, 2);
    expect(again.records).toEqual(lost.records);
    expect(again.cursor).toEqual(lost.cursor);
    const rest = await drain(second, 'orders', again.cursor, 2);
    expect(rest.records).toEqual([{ id: '5' }]);

    expect(existsSync(path.join(dir, 'orders.csv'))).toBe(false);
    expect(readdirSync(processedDir()).sort()).toEqual(['manifest.jsonl', 'orders.csv']);
    expect(manifest()).toHaveLength(1);
    expect(await drain(open(), 'orders', null, 2)).toMatchObject({ records: [] }); // even from scratch
  });

  it('finishes the consume when the cursor was persisted but commit() never ran', async () => {
    drop('a.csv', 'id\n1\n2\n', 60);
    drop('b.csv', 'id\n3\n', 30);
    const p1 = await readPage(open(), 's', null, 5);
    expect(p1.records).toEqual([{ id: '1' }, { id: '2' }]);
    // The pipeline persisted p1.cursor and crashed before p1.commit(): a.csv is still in the folder.
    const c = open();
    const p2 = await readPage(c, 's', p1.cursor, 5);
    expect(p2.records).toEqual([{ id: '3' }]); // a.csv is not delivered again
    expect(existsSync(path.join(dir, 'a.csv'))).toBe(true); // still not moved on a read alone
    await p2.commit!();
    expect(readdirSync(dir)).toEqual(['.processed']);
    expect(manifest().map((m) => m.name)).toEqual(['a.csv', 'b.csv']);
  });

  it('treats a file the manifest already records as consumed (crash between manifest line and rename)', async () => {
    drop('a.csv', 'id\n1\n');
    const c = open();
    await drain(c, 's', null, 5);
    // Put the file back where it was, as if the rename had not happened.
    drop('a.csv', readFileSync(path.join(processedDir(), 'a.csv'), 'utf8'));
    rmSync(path.join(processedDir(), 'a.csv'));
    expect(await readPage(open(), 's', null, 5)).toMatchObject({ records: [], more: false });
  });

  it('skips the same file dropped again (same name and content), and reads new content under the same name', async () => {
    drop('daily.csv', 'id\n1\n');
    expect((await drain(open(), 's', null, 5)).records).toEqual([{ id: '1' }]);

    drop('daily.csv', 'id\n1\n'); // the sender uploads it again
    const again = await readPage(open(), 's', null, 5);
    expect(again).toMatchObject({ records: [], more: false });
    expect(existsSync(path.join(dir, 'daily.csv'))).toBe(false); // moved aside as a duplicate
    expect(readdirSync(processedDir()).sort()).toEqual(['daily.csv', 'daily.dup.csv', 'manifest.jsonl']);
    expect(manifest()).toHaveLength(1);

    drop('daily.csv', 'id\n2\n'); // tomorrow's export, same name
    expect((await drain(open(), 's', null, 5)).records).toEqual([{ id: '2' }]);
    expect(manifest().map((m) => m.sha256)).toEqual([sha('id\n1\n'), sha('id\n2\n')]);
    expect(readFileSync(path.join(processedDir(), 'daily.csv'), 'utf8')).toBe('id\n1\n'); // not overwritten
    expect(readdirSync(processedDir())).toHaveLength(4);
  });
});

describe('files still being written', () => {
  it('leaves a file modified just now until it has settled', async () => {
    drop('new.csv', 'id\n1\n', 0);
    const c = open();
    expect(await readPage(c, 's', null, 5)).toMatchObject({ records: [], more: false, cursor: null });
    const t = new Date(Date.now() - 5000);
    utimesSync(path.join(dir, 'new.csv'), t, t);
    expect((await readPage(c, 's', null, 5)).records).toEqual([{ id: '1' }]);
  });

  it('takes settleMs from the stream settings', async () => {
    drop('new.csv', 'id\n1\n', 3);
    expect((await readPage(open(), 's', null, 5)).records).toHaveLength(1); // default 1 s: settled
    expect((await readPage(open({ streams: { s: { settleMs: 10_000 } } }), 's', null, 5)).records).toHaveLength(0);
  });
});

describe('writing', () => {
  it('appends one JSON line per item to the entity file and answers ok with the key as target id', async () => {
    const c = open({ entities: { order: { file: 'orders-out.jsonl' } } });
    const r1 = await c.write!('order', [
      { key: 'o-1', record: { total: '10.00' } },
      { key: 'o-2', record: { total: '2.50' } },
    ]);
    expect(r1).toEqual([
      { ok: true, targetId: 'o-1' },
      { ok: true, targetId: 'o-2' },
    ]);
    const r2 = await c.write!('order', [
      { key: 'o-3', record: { big: 1n } as unknown as Record<string, unknown> },
      { key: 'o-4', record: { total: '4.00' } },
    ]);
    expect(r2[0]).toMatchObject({ ok: false, transient: false });
    expect(r2[1]).toEqual({ ok: true, targetId: 'o-4' });
    const lines = readFileSync(path.join(dir, 'orders-out.jsonl'), 'utf8').split('\n');
    expect(lines).toEqual([
      '{"key":"o-1","record":{"total":"10.00"}}',
      '{"key":"o-2","record":{"total":"2.50"}}',
      '{"key":"o-4","record":{"total":"4.00"}}',
      '',
    ]);
    await c.write!('customer', [{ key: 'c-1', record: {} }]); // default file name
    expect(readFileSync(path.join(dir, 'customer.jsonl'), 'utf8')).toBe('{"key":"c-1","record":{}}\n');
  });

  it('refuses an entity file outside the folder', async () => {
    const c = open({ entities: { order: { file: '../escape.jsonl' } } });
    await expect(c.write!('order', [{ key: 'k', record: {} }])).rejects.toMatchObject({ transient: false });
  });
});
