/**
 * runtime/mapping/ is the mapping pool: records in, mapped outcomes out, with no I/O of its own (no database, no
 * connector), so the same code runs in a thread and inline.
 *
 * Mapping is CPU-bound (a Shopify order costs about 150 µs in a thread: parsing the 6 KB source,
 * the compiled mapping, the canonical check and hash), so a page is split across worker threads, one per core,
 * while the main thread does the I/O (reads, writes, ledger). Each thread compiles a mapping once per text, i.e. once per revision. With `threads: 0` (small jobs,
 * tests, the CLI's replay) pages are mapped inline.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../../util/paths.js';
import { mapRecords, packedText, shareTexts, type MapOutcome, type MapTask, type Packed } from './map-records.js';

interface Pending {
  resolve: (o: MapOutcome[]) => void;
  reject: (e: Error) => void;
  /** The shared buffer the task's records were written into: free again once the thread has answered. */
  bytes?: SharedArrayBuffer;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Shared buffers of answered tasks, reused for the next pages (a few: the readers map a page or two ahead). */
  free: SharedArrayBuffer[];
}

/** The thread's script: beside this file when built; from sources (tests via vitest) the built copy. */
function threadScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'mapper-thread.js');
  return path.join(projectRoot(), '.build', 'engine', 'runtime', 'mapping', 'mapper-thread.js');
}

export class Mapper {
  private threads: Thread[] = [];
  private next = 0;
  private seq = 0;

  /** `threads`: how many mapping threads (default: one per core); 0 maps on the calling thread. */
  constructor(threads = os.availableParallelism()) {
    for (let i = 0; i < threads; i++) {
      // A thread holds compiled mappings and schemas and a few pages at a time (the readers map ahead). The young
      // generation is where a record's garbage dies: at 8 MB the scavenges cost as much CPU as the mapping (GC
      // threads 78-190 µs a Shopify order), at 32 MB much less; the capped old generation keeps a long backfill's RSS
      // flat (1M records < 300 MB).
      const worker = new Worker(threadScript(), {
        resourceLimits: { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 256 },
      });
      const t: Thread = { worker, pending: new Map(), free: [] };
      worker.on(
        'message',
        (m: { id: number; outcomes?: MapOutcome[]; texts?: Packed; lists?: string[]; error?: string }) => {
          const p = t.pending.get(m.id);
          if (!p) return;
          t.pending.delete(m.id);
          if (p.bytes && t.free.length < 4) t.free.push(p.bytes);
          if (m.error !== undefined) return p.reject(new Error(m.error));
          // The mapped texts come packed, the member-name lists by index (mapper-thread.ts): each outcome gets its own.
          const outcomes = m.outcomes!;
          let n = 0;
          for (const o of outcomes) {
            if (o.kind !== 'mapped') continue;
            o.text = packedText(m.texts!, n++);
            o.fields = m.lists![Number(o.fields)];
          }
          p.resolve(outcomes);
        },
      );
      worker.on('error', (e) => {
        for (const p of t.pending.values()) p.reject(e);
        t.pending.clear();
      });
      worker.unref();
      this.threads.push(t);
    }
  }

  get size(): number {
    return this.threads.length;
  }

  /** Map a page; large pages are split across the threads and the outcomes come back in record order. */
  async map(task: MapTask): Promise<MapOutcome[]> {
    const n = task.records.length;
    if (!this.threads.length || n === 0) return mapRecords(task);
    const parts = Math.min(this.threads.length, Math.ceil(n / 25));
    const size = Math.ceil(n / parts);
    const chunks: Promise<MapOutcome[]>[] = [];
    for (let i = 0; i < n; i += size) {
      const part = task.records.slice(i, i + size);
      const index = this.next++ % this.threads.length;
      if (!task.json || !part.every((r) => typeof r === 'string')) {
        chunks.push(this.sendTo(index, { ...task, records: part }));
        continue;
      }
      // JSON texts go as UTF-8 bytes in a shared buffer of that thread's, reused from page to page.
      const free = this.threads[index].free;
      const shared = shareTexts(part as string[], free.pop());
      chunks.push(this.sendTo(index, { ...task, records: [], shared }, shared.bytes));
    }
    return (await Promise.all(chunks)).flat();
  }

  /** Compile a mapping in every thread ahead of its first records (an event's first delivery then waits for no compile). */
  async warm(task: Omit<MapTask, 'records'>): Promise<void> {
    const t = { ...task, records: [] };
    if (!this.threads.length) await mapRecords(t);
    else await Promise.all(this.threads.map((_, i) => this.sendTo(i, t)));
  }

  private sendTo(index: number, task: MapTask, bytes?: SharedArrayBuffer): Promise<MapOutcome[]> {
    const t = this.threads[index];
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      t.pending.set(id, { resolve, reject, bytes });
      t.worker.postMessage({ id, task });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
    this.threads = [];
  }
}
