/**
 * A secret manager behind a `{ secretRef: "<scheme>:NAME" }` scheme (vault:, aws:, gcp:). Each backend is a module
 * of this folder implementing SecretManager, registered by its scheme in index.ts; cache.ts fetches through it, keeps
 * each value for the bounded time rsync.yaml declares (`spec.secrets.cacheTtl`), and hands it to the synchronous
 * resolver connectors call (engine/connectors/secrets.ts), which remembers it for redaction.
 */

export interface SecretManager {
  /** The scheme of its references: 'vault', 'aws' or 'gcp'. */
  readonly scheme: string;
  /** The current value of the secret `name` (the text after `scheme:`); throws ConnectorError
   *  (engine/connectors/types.ts): permanent when it does not exist or access is denied, transient otherwise. */
  fetch(name: string): Promise<string>;
  /** Release sockets/timers. */
  close?(): Promise<void>;
}

export type SecretManagerFactory = (settings: Record<string, unknown>, env: NodeJS.ProcessEnv) => SecretManager;
