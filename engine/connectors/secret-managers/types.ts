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
