/** What the runtime commands share: the environment and the secrets folder (from rsync.yaml), and the state database. */
import { Flags } from '@oclif/core';
import { configureSecrets } from '../engine/connectors/secrets.js';
import { resolveEnvironment } from '../engine/workspace/index.js';
import type { Database } from '../engine/state/db.js';
import { openDatabase } from './database.js';

export const runtimeFlags = {
  env: Flags.string({ char: 'e', description: 'the environment (default: the first in rsync.yaml)' }),
  path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
};

export async function openRuntime(
  flags: { env?: string; path: string },
  quiet: boolean,
): Promise<{ db: Database; env: string; root: string }> {
  const target = await resolveEnvironment(flags.path, flags.env);
  // file: secrets are read inside the folder rsync.yaml declares (RSYNC_SECRETS_DIR, when set, wins).
  configureSecrets({ folder: target.secretsFolder, settings: target.secrets });
  const db = await openDatabase(target.root, quiet);
  return { db, env: target.env, root: target.root };
}

/** A table of rows as aligned text columns. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** "3m 12s ago"-style ages. */
export function ago(ms: number): string {
  if (ms < 1000) return 'just now';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m ago`;
  return `${Math.floor(h / 24)}d ago`;
}
