/** A mapping thread: runs mapRecords for the pool in mapper.ts (one task at a time, in order). */
import { parentPort } from 'node:worker_threads';
import { mapRecords, packTexts, type MapTask } from './map-records.js';

parentPort!.on('message', async (msg: { id: number; task: MapTask }) => {
  try {
    const outcomes = await mapRecords(msg.task);
    // The mapped records' texts go back packed into one string (mapper.ts gives each outcome its packedText): one
    // message string instead of hundreds. Each record's member-name list goes as an index into the page's distinct
    // lists (one or a few): a string cloned per record would arrive as a copy of its own, hashed again at each lookup.
    const texts: string[] = [];
    const lists: string[] = [];
    for (const o of outcomes) {
      if (o.kind !== 'mapped') continue;
      texts.push(o.text);
      o.text = '';
      let n = lists.indexOf(o.fields);
      if (n < 0) n = lists.push(o.fields) - 1;
      o.fields = String(n);
    }
    parentPort!.postMessage({ id: msg.id, outcomes, texts: packTexts(texts), lists });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message ?? String(e) });
  }
});
