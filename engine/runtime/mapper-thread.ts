/** A mapping thread: runs mapRecords for the pool in mapper.ts (one task at a time, in order). */
import { parentPort } from 'node:worker_threads';
import { mapRecords, type MapTask } from './map-records.js';

parentPort!.on('message', async (msg: { id: number; task: MapTask }) => {
  try {
    parentPort!.postMessage({ id: msg.id, outcomes: await mapRecords(msg.task) });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message ?? String(e) });
  }
});
