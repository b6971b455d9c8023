/**
 * The content cache: results that are a pure function of one file's text, kept between commands under the
 * workspace's `.rsync/cache/content.json` (git-ignored; safe to delete at any time) and keyed by the sha256 of the
 * text. A key names one text, so nothing needs invalidating: a changed file, a changed template, another Git ref
 * are other texts, hence other keys. What it holds:
 *
 *   yaml      the values of a YAML file's documents, for files that parse cleanly on the fast path
 *             (engine/load/yaml.ts); a file with a syntax error, anchors or aliases is parsed every time
 *   jsonata   a mapping's facts: whether it compiles (else the error), the fields it outputs and the
 *             non-deterministic functions it calls (engine/validate/validate.ts); under `lineage:<key>`, the
 *             input paths reaching each output field, for the PII check (engine/validate/pii-lineage.ts)
 *
 * Cross-file checks (references, capabilities, governance, schemas after templates and overlays) are not cached:
 * they run on every validation. The file is tied to this build (engine/util/build.ts): another build starts empty.
 * Entries not used by the last few commands that wrote the file are dropped, so it tracks the workspace's files
 * (the refs planned lately) instead of growing with history.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { STATE_DIR } from '../util/paths.js';
import { engineBuild, writeAtomically } from '../util/build.js';
import { sha256 } from '../util/hash.js';

export type Section = 'yaml' | 'jsonata';

/** Entries unused by this many writes in a row are dropped. */
const KEEP_WRITES = 4;
const FORMAT = 1;

interface Stored {
  format: typeof FORMAT;
  build: string;
  /** Counts the writes; an entry records the last write whose command used it. */
  writes: number;
  yaml: Record<string, [number, unknown]>;
  jsonata: Record<string, [number, unknown]>;
}

export class ContentCache {
  private dirty = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly data: Stored,
  ) {}

  /** The cache of the workspace at `root` (empty when missing, unreadable or from another build). */
  static open(root: string): ContentCache {
    const file = path.join(root, STATE_DIR, 'cache', 'content.json');
    let data: Stored | undefined;
    try {
      const c = JSON.parse(readFileSync(file, 'utf8')) as Stored;
      const ok =
        c.format === FORMAT &&
        c.build === engineBuild() &&
        Number.isInteger(c.writes) &&
        isRecord(c.yaml) &&
        isRecord(c.jsonata);
      if (ok) data = c;
    } catch {
      /* no cache yet, or a damaged one: start empty */
    }
    return new ContentCache(file, data ?? empty());
  }

  /** A cache that lives only as long as this object (nothing read or written). */
  static inMemory(): ContentCache {
    return new ContentCache(undefined, empty());
  }

  /** The key of a text. */
  key(text: string): string {
    return sha256(text);
  }

  get(section: Section, key: string): unknown {
    const e = this.data[section][key];
    if (!Array.isArray(e) || e.length !== 2) return undefined;
    e[0] = this.data.writes + 1; // used by this command
    return e[1];
  }

  /** Remember a value; one JSON would not give back exactly (NaN, -0, a class instance) is not kept. */
  put(section: Section, key: string, value: unknown): void {
    if (!roundTrips(value)) return;
    this.data[section][key] = [this.data.writes + 1, value];
    this.dirty = true;
  }

  /** Write the cache if this command added to it. A failure (a read-only workspace) only costs the next command time. */
  save(): void {
    if (!this.dirty || !this.file) return;
    this.dirty = false;
    const writes = this.data.writes + 1;
    const out: Stored = { format: FORMAT, build: this.data.build, writes, yaml: {}, jsonata: {} };
    for (const section of ['yaml', 'jsonata'] as const) {
      for (const [k, e] of Object.entries(this.data[section])) if (e[0] > writes - KEEP_WRITES) out[section][k] = e;
    }
    try {
      writeAtomically(this.file, JSON.stringify(out));
      Object.assign(this.data, out);
    } catch {
      /* a cache is optional */
    }
  }
}

function empty(): Stored {
  return { format: FORMAT, build: engineBuild(), writes: 0, yaml: {}, jsonata: {} };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Does JSON.parse(JSON.stringify(v)) give back an equal value (plain data, finite numbers, no -0, no holes)? */
function roundTrips(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!(i in v) || !roundTrips(v[i])) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) if (!roundTrips((v as Record<string, unknown>)[k])) return false;
      return true;
    }
    default:
      return false;
  }
}
