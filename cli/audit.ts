/**
 * The apply log's anchors and key for the commands that append to it (apply, dlq replay, dlq discard) and for
 * `rsync audit verify`: rsync.yaml's spec.audit, with RSYNC_AUDIT_ANCHOR overriding its anchor file.
 */
import { prefetchSecrets } from '../engine/connectors/secret-managers/cache.js';
import { configureSecrets, resolveSecret } from '../engine/connectors/secrets.js';
import { type AnchorSettings, anchorHead } from '../engine/state/audit-anchors.js';
import { configureAuditKey } from '../engine/state/apply-log.js';
import type { Database } from '../engine/state/db.js';
import { declaredAuditAt } from '../engine/workspace/index.js';

export interface Audit {
  anchors: AnchorSettings;
  keyed: boolean;
}

/** The workspace's audit settings (none outside a workspace), its key resolved and given to the apply log. */
export async function openAudit(root: string | undefined): Promise<Audit> {
  const d = root
    ? await declaredAuditAt(root)
    : { gitNotes: false, key: undefined, anchorFile: undefined, secretsFolder: undefined, secrets: undefined };
  let key: string | undefined;
  if (d.key !== undefined) {
    if (d.secretsFolder || d.secrets) configureSecrets({ folder: d.secretsFolder, settings: d.secrets });
    // A key in a secret manager is fetched first (the resolver itself reads only what is fetched).
    await prefetchSecrets(d.key);
    key = resolveSecret(d.key);
  }
  configureAuditKey(key);
  return {
    anchors: {
      file: process.env.RSYNC_AUDIT_ANCHOR || d.anchorFile,
      gitFolder: root && d.gitNotes ? root : undefined,
    },
    keyed: key !== undefined,
  };
}

/** After a command's entries committed: anchor the log's head. A line to print, or undefined when not anchored. */
export async function anchorLog(
  db: Database,
  audit: Audit,
  o: { env: string; commit?: string | null },
): Promise<string | undefined> {
  const r = await anchorHead(db.pool, { ...audit.anchors, ...o });
  if (!r.anchor || (!r.file && !r.note)) return undefined;
  const where = [r.file ? r.file : '', r.note ? `a Git note on ${r.note.slice(0, 12)} (refs/notes/rsync-audit)` : '']
    .filter(Boolean)
    .join(' and ');
  return `apply log head ${r.anchor.n} (${r.anchor.hash.slice(0, 12)}) anchored in ${where}`;
}
