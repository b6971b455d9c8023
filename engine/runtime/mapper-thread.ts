/** A mapping thread: runs mapRecords for the pool in mapper.ts (one task at a time, in order). */
import { parentPort } from 'node:worker_threads';
import { mapRecords, packTexts, type MapTask } from './map-records.js';

parentPort!.on('message', async (msg: { id: number; task: MapTask }) => {
  try {
    const outcomes = await mapRecords(msg.task);
    // The mapped records' texts go back packed into one string (unpackTexts in mapper.ts): one large string instead
    // of hundreds of small ones, which the main thread's young generation would copy while the page is written.
    const texts: string[] = [];
    for (const o of outcomes) {
      if (o.kind !== 'mapped') continue;
      texts.push(o.text);
      o.text = '';
    }
    parentPort!.postMessage({ id: msg.id, outcomes, texts: packTexts(texts) });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message ?? String(e) });
  }
});
