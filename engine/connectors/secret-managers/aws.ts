/**
 * AWS Secrets Manager as a secret backend: `aws:<secret-id>[#json-field]`.
 *
 *   aws:prod/northwind/shopify          the secret's SecretString, as stored
 *   aws:prod/northwind/db#password      the key `password` of a secret whose SecretString is a JSON object
 *   aws:arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf#password   by ARN (another account's)
 *
 * Settings: `{ region, endpoint?, maxAttempts? }`; the region may also come from AWS_REGION / AWS_DEFAULT_REGION,
 * `endpoint` overrides the service's URL (a VPC endpoint, or a fake on 127.0.0.1). Credentials are never in the
 * workspace: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) of the environment the factory is given,
 * else the SDK's default chain (shared config and credentials files, SSO, web identity, ECS and EC2 instance roles).
 *
 * It calls GetSecretValue through AWS's own client (@aws-sdk/client-secrets-manager: SigV4, retries with back-off
 * for throttling and 5xx) for the version staged AWSCURRENT, so a rotation (a new version staged AWSCURRENT) is the
 * value of the next fetch. Only SecretString is read: a binary secret (SecretBinary) is refused with the fix.
 * Errors follow the interface (types.ts): a secret that does not exist, access denied, a KMS key that cannot
 * decrypt, refused credentials and a bad reference are permanent; throttling, 5xx and network failures transient.
 * Their messages name the reference and the fix, never the value. Every value returned is `rememberSecret`ed.
 *
 * The API: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html (SecretId,
 * VersionStage "If you don't specify either a VersionStage or VersionId, then Secrets Manager returns the
 * AWSCURRENT version"), errors https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { rememberSecret } from '../secrets.js';
import { ConnectorError } from '../types.js';
import type { SecretManager, SecretManagerFactory } from './types.js';

/** The parts of an `aws:` reference (the text after `aws:`). */
export interface AwsSecretName {
  secretId: string;
  field?: string;
}

/** `id[#field]`, or the reason it is not one. A secret's name cannot contain `#`, so the first one splits. */
export function parseAwsSecretName(name: string): AwsSecretName | string {
  const hash = name.indexOf('#');
  const secretId = hash < 0 ? name : name.slice(0, hash);
  const field = hash < 0 ? undefined : name.slice(hash + 1);
  if (!secretId) return 'names no secret: write aws:<secret name or ARN>, e.g. aws:prod/northwind/shopify';
  if (secretId.length > 2048) return 'has a secret id longer than 2,048 characters, the most AWS allows';
  if (field === '') return 'ends in # without a key: write aws:<secret>#<key of its JSON>, or drop the #';
  return { secretId, field };
}

const permanent = (message: string, kind: 'auth' | 'permanent' = 'permanent', status?: number) =>
  new ConnectorError(message, false, undefined, status, kind);

/** The SDK's error, as much of it as the mapping reads. */
interface AwsError {
  name?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

const AUTH_REFUSED = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredTokenException',
  'RequestExpired',
]);

/** A failed GetSecretValue as the ConnectorError the interface asks for; its message never carries the value. */
export function awsFailure(e: unknown, ref: string, region: string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  const err = (e ?? {}) as AwsError;
  const name = err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  const where = `in AWS Secrets Manager (region ${region})`;
  switch (name) {
    case 'ResourceNotFoundException':
      return permanent(
        `secret ${ref} does not exist ${where}, or has no version staged AWSCURRENT: create it, or fix the name (ResourceNotFoundException)`,
        'permanent',
        status,
      );
    case 'AccessDeniedException':
      return permanent(
        `secret ${ref}: the worker's AWS identity may not read it ${where}: grant it secretsmanager:GetSecretValue on the secret (and kms:Decrypt on a customer-managed key) (AccessDeniedException)`,
        'auth',
        status,
      );
    case 'DecryptionFailure':
      return permanent(
        `secret ${ref} cannot be decrypted ${where}: the KMS key that encrypts it is disabled, or the worker's identity lacks kms:Decrypt on it (DecryptionFailure)`,
        'auth',
        status,
      );
    case 'InvalidRequestException':
    case 'InvalidParameterException':
      return permanent(
        `secret ${ref} was refused ${where} (${name}): the secret may be scheduled for deletion, or the id is not a name or an ARN of a secret`,
        'permanent',
        status,
      );
    case 'CredentialsProviderError':
      return permanent(
        `secret ${ref}: the worker has no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), or run it with an IAM role`,
        'auth',
      );
  }
  if (AUTH_REFUSED.has(name))
    return permanent(
      `secret ${ref}: AWS refused the worker's credentials ${where} (${name}): check the access key id and secret access key (or the session token's expiry) in the worker's environment`,
      'auth',
      status,
    );
  if (name === 'ThrottlingException' || name === 'TooManyRequestsException' || status === 429) {
    const after = Number(err.$response?.headers?.['retry-after']);
    return new ConnectorError(
      `secret ${ref}: AWS Secrets Manager throttled the worker ${where} (${name}); it is retried`,
      true,
      Number.isFinite(after) && after >= 0 ? after * 1000 : undefined,
      status ?? 429,
      'throttled',
    );
  }
  if (err.$fault === 'client' && status !== undefined && status < 500)
    return permanent(`secret ${ref} was refused ${where} (${name}, HTTP ${status})`, 'permanent', status);
  const what = status !== undefined ? `${name}, HTTP ${status}` : (err.code ?? name);
  return new ConnectorError(
    `secret ${ref} could not be read ${where} (${what}); it is retried`,
    true,
    undefined,
    status,
  );
}

/** Settings read from the backend's entry in rsync.yaml. */
function text(settings: Record<string, unknown>, key: string): string | undefined {
  const v = settings[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw permanent(`the aws secret manager's setting ${key} must be a string`);
  return v;
}

/** `aws:` references through AWS Secrets Manager; see the file's header. */
export const openAwsSecretManager: SecretManagerFactory = (settings, env) => {
  const region = text(settings, 'region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region)
    throw permanent(
      'the aws secret manager has no region: set settings.region (e.g. us-east-1) in rsync.yaml, or AWS_REGION in the worker environment',
    );
  const endpoint = text(settings, 'endpoint');
  if (endpoint && !URL.canParse(endpoint))
    throw permanent(
      `the aws secret manager's endpoint ${endpoint} is not a URL: write e.g. https://secretsmanager.us-east-1.amazonaws.com`,
    );
  const attempts = settings.maxAttempts === undefined ? undefined : Number(settings.maxAttempts);
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts >= 1 && attempts <= 10))
    throw permanent("the aws secret manager's setting maxAttempts must be a whole number from 1 to 10");
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = env.AWS_SESSION_TOKEN || undefined;
  for (const s of [secretAccessKey, sessionToken]) if (s) rememberSecret(s);
  const client = new SecretsManagerClient({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(attempts ? { maxAttempts: attempts } : {}),
    // The environment the factory was given; without both keys in it, the SDK's default chain.
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, sessionToken } } : {}),
  });

  const manager: SecretManager = {
    scheme: 'aws',
    async fetch(name: string): Promise<string> {
      const ref = `aws:${name}`;
      const parsed = parseAwsSecretName(name);
      if (typeof parsed === 'string') throw permanent(`secret reference ${ref} ${parsed}`);
      let out: { SecretString?: string; SecretBinary?: Uint8Array };
      try {
        out = await client.send(new GetSecretValueCommand({ SecretId: parsed.secretId, VersionStage: 'AWSCURRENT' }));
      } catch (e) {
        throw awsFailure(e, ref, region);
      }
      const whole = out.SecretString;
      if (whole === undefined)
        throw permanent(
          `secret ${ref} holds binary data (SecretBinary), not text: store it as a SecretString (base64 it if it must be binary)`,
        );
      rememberSecret(whole);
      if (parsed.field === undefined) {
        if (whole === '') throw permanent(`secret ${ref} is empty in AWS Secrets Manager: put a value in it`);
        return whole;
      }
      return pickField(whole, parsed.field, `aws:${parsed.secretId}`, ref);
    },
    async close(): Promise<void> {
      client.destroy();
    },
  };
  return manager;
};

/** The key `field` of the JSON object `whole`, as text; every failure names the reference, never a value. */
function pickField(whole: string, field: string, secret: string, ref: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(whole);
  } catch {
    throw permanent(`secret ${secret} is not JSON, so ${ref} cannot pick the key ${field}: drop #${field}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw permanent(`secret ${secret} is JSON but not an object, so ${ref} cannot pick the key ${field}`);
  const obj = doc as Record<string, unknown>;
  if (!Object.hasOwn(obj, field)) {
    const keys = Object.keys(obj).slice(0, 20).join(', ');
    throw permanent(`secret ${secret} has no key ${field}${keys ? ` (its keys: ${keys})` : ''}: fix the name after #`);
  }
  const v = obj[field];
  if (typeof v === 'number' || typeof v === 'boolean') {
    rememberSecret(String(v));
    return String(v);
  }
  if (typeof v !== 'string' || v === '')
    throw permanent(
      `secret ${ref}: the key ${field} is ${v === '' ? 'empty' : 'not text'}: store the value as a string`,
    );
  rememberSecret(v);
  return v;
}
