/**
 * The secret managers by scheme: rsync.yaml's `spec.secrets.<scheme>` is handed to the factory of that scheme. Adding
 * a backend is one module implementing SecretManager (types.ts) and one line here.
 *
 * The AWS and Google backends are loaded when a workspace first uses them: their SDKs (the AWS client, Google's auth
 * library) take a third of a second to import, which every rsync command would otherwise pay at start.
 */
import type { SecretManager, SecretManagerFactory } from './types.js';
import { vaultManager } from './vault.js';

export type { SecretManager, SecretManagerFactory } from './types.js';

/** A factory whose module is imported at the first fetch (the manager is made then, with the same settings). */
function lazy(scheme: string, load: () => Promise<SecretManagerFactory>): SecretManagerFactory {
  return (settings, env) => {
    let made: Promise<SecretManager> | undefined;
    const manager = () => {
      made ??= load().then((factory) => factory(settings, env));
      return made;
    };
    return {
      scheme,
      fetch: async (name) => (await manager()).fetch(name),
      close: async () => {
        if (made) await (await made).close?.();
      },
    };
  };
}

export const SECRET_MANAGERS: Readonly<Record<string, SecretManagerFactory>> = {
  vault: vaultManager,
  aws: lazy('aws', async () => (await import('./aws.js')).openAwsSecretManager),
  gcp: lazy('gcp', async () => (await import('./gcp.js')).openGcpSecretManager),
};
