/**
 * The aws secret backend against the fake Secrets Manager (aws-fake.ts) over real HTTP on 127.0.0.1, through AWS's
 * own client: SigV4 verified by the fake, the AWSCURRENT value and a JSON key of it, rotation seen on the next
 * fetch, each error kind (permanent: not found, denied, bad reference, refused credentials; transient: throttled,
 * the service unreachable), and every value scrubbed by redact afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redact } from '../secrets.js';
import { failureOf } from '../testing.js';
import { openAwsSecretManager, parseAwsSecretName } from './aws.js';
import { fakeAwsSettings, startFakeAwsSecrets } from './aws-fake.js';

const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** What each test opened, closed after it (managers before their fake). */
let closers: (() => Promise<void> | undefined)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

async function setup(settings: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, now?: () => number) {
  const fake = await startFakeAwsSecrets({
    region: 'eu-west-1',
    accessKeyId: KEY_ID,
    secretAccessKey: SECRET_KEY,
    now,
  });
  closers.push(() => fake.close());
  const connect = (s: Record<string, unknown> = settings, e: NodeJS.ProcessEnv = env) => {
    const m = openAwsSecretManager(
      { ...fakeAwsSettings(fake), ...s },
      { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_KEY, ...e },
    );
    closers.push(() => m.close?.());
    return m;
  };
  return { fake, aws: connect(), connect };
}

describe('aws: references', () => {
  it('splits the id from the JSON key at the first #, and refuses an empty id or key', () => {
    expect(parseAwsSecretName('prod/db#password')).toEqual({ secretId: 'prod/db', field: 'password' });
    expect(parseAwsSecretName('arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf')).toEqual({
      secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:db-AbCdEf',
      field: undefined,
    });
    expect(parseAwsSecretName('#password')).toMatch(/names no secret/);
    expect(parseAwsSecretName('prod/db#')).toMatch(/without a key/);
  });

  it('needs a region, from the settings or the environment', () => {
    expect(() => openAwsSecretManager({}, {})).toThrow(/no region: set settings.region/);
    expect(openAwsSecretManager({}, { AWS_REGION: 'us-west-2' }).scheme).toBe('aws');
  });
});

describe('aws: GetSecretValue against the fake', () => {
  it('fetches the AWSCURRENT SecretString, by name and by ARN, signed as the fake verifies', async () => {
    const { fake, aws } = await setup();
    const arn = fake.put('northwind/shopify', 'shpat_aws_current_7781');
    expect(await aws.fetch('northwind/shopify')).toBe('shpat_aws_current_7781');
    expect(await aws.fetch(arn)).toBe('shpat_aws_current_7781');
    expect(fake.requests).toBe(2);
    expect(fake.refused).toBe(0);
  });

  it('picks a key of a JSON secret, and says which keys there are when the one named is missing', async () => {
    const { fake, aws } = await setup();
    fake.put('northwind/db', JSON.stringify({ username: 'rsync', password: 'pg-pass-4471-aws', port: 5432 }));
    expect(await aws.fetch('northwind/db#password')).toBe('pg-pass-4471-aws');
    expect(await aws.fetch('northwind/db#port')).toBe('5432');
    const e = await failureOf(aws.fetch('northwind/db#passwd'));
    expect(e.transient).toBe(false);
    expect(e.message).toContain('has no key passwd (its keys: username, password, port)');
    expect(e.message).not.toContain('pg-pass-4471-aws');
    fake.put('northwind/plain', 'not-json-value-1234');
    const plain = await failureOf(aws.fetch('northwind/plain#password'));
    expect(plain.message).toContain('is not JSON');
    expect(plain.message).not.toContain('not-json-value-1234');
  });

  it('serves the rotated value on the next fetch: the new version is AWSCURRENT', async () => {
    const { fake, aws } = await setup();
    fake.put('northwind/token', 'token-before-rotation-01');
    expect(await aws.fetch('northwind/token')).toBe('token-before-rotation-01');
    fake.rotate('northwind/token', 'token-after-rotation-02');
    expect(await aws.fetch('northwind/token')).toBe('token-after-rotation-02');
  });

  it('scrubs every value it returned (and the whole JSON secret) from messages afterwards', async () => {
    const { fake, aws } = await setup();
    fake.put('contoso/api', 'aws-planted-secret-9d1f2c');
    fake.put('contoso/db', JSON.stringify({ password: 'aws-planted-field-77ab' }));
    const a = await aws.fetch('contoso/api');
    const b = await aws.fetch('contoso/db#password');
    const line = `401 for ${a}; body {"password":"${b}"}; header ${Buffer.from(`u:${a}`).toString('base64')}`;
    const out = redact(line);
    expect(out).not.toContain(a);
    expect(out).not.toContain(b);
    expect(out).toContain('401 for ***');
  });
});

describe('aws: failures', () => {
  it('a secret that does not exist is permanent and names the reference and the fix', async () => {
    const { aws } = await setup();
    const e = await failureOf(aws.fetch('northwind/missing#key'));
    expect(e.transient).toBe(false);
    expect(e.kind).toBe('permanent');
    expect(e.message).toMatch(
      /^secret aws:northwind\/missing#key does not exist in AWS Secrets Manager \(region eu-west-1\)/,
    );
    expect(e.message).toContain('create it, or fix the name');
  });

  it('access denied is a permanent auth failure that names the permission to grant', async () => {
    const { fake, aws } = await setup();
    fake.put('contoso/api', 'denied-value-5566');
    fake.deny('contoso/api');
    const e = await failureOf(aws.fetch('contoso/api'));
    expect(e.transient).toBe(false);
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('grant it secretsmanager:GetSecretValue');
  });

  it('a wrong secret access key is refused by the fake (signature mismatch): permanent auth', async () => {
    const { fake, connect } = await setup();
    fake.put('contoso/api', 'value-never-served-1');
    const wrong = connect({}, { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY00' });
    const e = await failureOf(wrong.fetch('contoso/api'));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('InvalidSignatureException');
    expect(e.message).toContain('check the access key id and secret access key');
    const unknown = connect({}, { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY000000' });
    expect((await failureOf(unknown.fetch('contoso/api'))).message).toContain('UnrecognizedClientException');
    expect(fake.requests).toBe(0);
    expect(fake.refused).toBeGreaterThanOrEqual(2);
  });

  it('throttling is retried by the SDK, and when it persists it is transient (throttled) with the Retry-After', async () => {
    const { fake, aws, connect } = await setup();
    fake.put('northwind/token', 'throttled-token-3344');
    fake.throttle(1, 0);
    expect(await aws.fetch('northwind/token')).toBe('throttled-token-3344');
    expect(fake.refused).toBe(1);
    fake.throttle(5, 2);
    const once = connect({ maxAttempts: 1 });
    const e = await failureOf(once.fetch('northwind/token'));
    expect(e.transient).toBe(true);
    expect(e.kind).toBe('throttled');
    expect(e.retryAfterMs).toBe(2000);
  });

  it('a binary secret (SecretBinary) is refused with the fix, its bytes not shown', async () => {
    const { fake, aws } = await setup();
    fake.put('northwind/cert', Buffer.from('binary-secret-bytes-01'));
    const e = await failureOf(aws.fetch('northwind/cert'));
    expect(e.transient).toBe(false);
    expect(e.message).toContain('holds binary data (SecretBinary), not text: store it as a SecretString');
    expect(e.message).not.toContain('binary-secret-bytes-01');
  });

  it('a signature dated more than 15 minutes off the service clock is refused: permanent auth', async () => {
    const { fake, aws } = await setup({ maxAttempts: 1 }, {}, () => Date.now() + 20 * 60_000);
    fake.put('northwind/token', 'never-served-late-1');
    const e = await failureOf(aws.fetch('northwind/token'));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('InvalidSignatureException');
    expect(fake.requests).toBe(0);
  });

  it('an unreachable service is transient', async () => {
    const { fake, connect } = await setup();
    const url = fake.url;
    await fake.close();
    const m = connect({ endpoint: url, maxAttempts: 1 });
    const e = await failureOf(m.fetch('northwind/token'));
    expect(e.transient).toBe(true);
    expect(e.message).toContain('it is retried');
  });
});
