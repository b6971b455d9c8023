/**
 * The mapping pool (engine/runtime/mapping/mapper.ts): pages of JSON texts go to the threads as UTF-8 bytes in shared
 * buffers that are reused from page to page. Mapped in threads, a page must give what it gives mapped inline: every
 * character intact (beyond ASCII too), every record in its order, and no page seeing another's bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mapper } from '../../engine/runtime/mapping/mapper.js';
import { mapRecords, type MapOutcome, type MapTask } from '../../engine/runtime/mapping/map-records.js';
import { buildProblem } from '../helpers/cli.js';

const MAPPING = `{ 'externalId': $string(id), 'firstName': name, 'lastName': note }`;
const NAMES = [
  'Zoë Ångström',
  'Łukasz Żółć',
  'Straße €5',
  '東京の店',
  'emoji 🚀🛒',
  'plain ascii',
  'tab\tand "quotes" and \\ and \u2028',
];

function page(from: number, n: number, pad = 0): string[] {
  return Array.from({ length: n }, (_, i) => {
    const id = from + i;
    // every third record has no name: a page has two member lists
    return JSON.stringify({
      id,
      name: id % 3 ? NAMES[id % NAMES.length] : undefined,
      note: 'x'.repeat(pad) + NAMES[(id + 3) % NAMES.length],
    });
  });
}

const task = (records: string[]): MapTask => ({
  mapping: MAPPING,
  key: "'customer-' & $string(id)",
  params: {},
  canonical: 'customer',
  records,
  json: true,
});

const summary = (outcomes: MapOutcome[]) =>
  outcomes.map((o) =>
    o.kind === 'mapped' ? { key: o.key, hash: o.hash, fields: o.fields, record: JSON.parse(o.text) as unknown } : o,
  );

describe('the mapping pool', () => {
  let mapper: Mapper;
  beforeAll(() => {
    const problem = buildProblem(['engine/runtime/mapping/mapper-thread.ts']);
    if (problem) throw new Error(problem);
    mapper = new Mapper(2);
  });
  afterAll(async () => {
    await mapper?.close();
  });

  it('maps a page in threads as it maps it inline, characters beyond ASCII included', async () => {
    const records = page(1, 120);
    const threaded = await mapper.map(task(records));
    const inline = await mapRecords(task(records));
    expect(threaded.every((o) => o.kind === 'mapped')).toBe(true);
    expect(summary(threaded)).toEqual(summary(inline));
    const fourth = JSON.parse((threaded[3] as { text: string }).text) as { firstName: string; lastName: string };
    expect(fourth.firstName).toBe(NAMES[4]);
    expect(new Set(threaded.map((o) => (o as { fields: string }).fields))).toEqual(
      new Set(['["externalId","firstName","lastName"]', '["externalId","lastName"]']),
    );
    expect(fourth.lastName).toBe(NAMES[0]);
  });

  it('keeps pages apart when they are mapped at once and their buffers are reused, small and large', async () => {
    // a page of about 2 MB grows a thread's buffer past its first size; the small pages then reuse it
    const pages = [page(1_000, 40), page(2_000, 300, 6_000), page(3_000, 7), page(4_000, 90), page(5_000, 1)];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(pages.map((p) => mapper.map(task(p))));
      results.forEach((outcomes, n) => {
        expect(outcomes).toHaveLength(pages[n].length);
        outcomes.forEach((o, i) => {
          expect(o.kind).toBe('mapped');
          const src = JSON.parse(pages[n][i]) as { id: number; note: string };
          expect(o.key).toBe(`customer-${src.id}`);
          expect((JSON.parse((o as { text: string }).text) as { lastName: string }).lastName).toBe(src.note);
        });
      });
    }
  });

  it('dead-letters a text that is not JSON with its first characters, and maps its neighbours', async () => {
    const records = [...page(1, 30), '{"id": 31, "name": "Zoë', ...page(32, 30)];
    const outcomes = await mapper.map(task(records));
    expect(outcomes).toHaveLength(61);
    const dead = outcomes[30] as Extract<MapOutcome, { kind: 'dead' }>;
    expect(dead.kind).toBe('dead');
    expect(dead.stage).toBe('parse');
    expect(dead.source).toEqual({ raw: '{"id": 31, "name": "Zoë' });
    expect(outcomes.filter((o) => o.kind === 'mapped')).toHaveLength(60);
  });
});
