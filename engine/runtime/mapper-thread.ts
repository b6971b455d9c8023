/** A mapping thread: runs mapRecords for the pool in mapper.ts (one task at a time, in order). */
import { parentPort } from 'node:worker_threads';
import { mapRecords, packTexts, type MapTask } from './map-records.js';

parentPort!.on('message', async (msg: { id: number; task: MapTask }) => {
  try {
    const outcomes = await mapRecords(msg.task);
    // The mapped records' texts go back packed into one string (mapper.ts gives each outcome its packedText): one
    // message string instead of hundreds.
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
