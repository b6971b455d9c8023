/**
 * The secret managers by scheme: rsync.yaml's `spec.secrets.<scheme>` is handed to the factory of that scheme. Adding
 * a backend is one module implementing SecretManager (types.ts) and one line here.
 */
import type { SecretManagerFactory } from './types.js';
import { openAwsSecretManager } from './aws.js';
import { openGcpSecretManager } from './gcp.js';
import { vaultManager } from './vault.js';

export type { SecretManager, SecretManagerFactory } from './types.js';

export const SECRET_MANAGERS: Readonly<Record<string, SecretManagerFactory>> = {
  vault: vaultManager,
  aws: openAwsSecretManager,
  gcp: openGcpSecretManager,
};
