/**
 * What the webhook receivers' tests share (each sender's tests are its folder's receive.test.ts): the vendors' real
 * sample payloads (test/fixtures, see SOURCES.md), a delivery received through the registry, and the contract every
 * receiver meets (`describeReceiver`). Each test computes its vendor's signature straight from the vendor's
 * documentation with node:crypto, not with `signFor`, so a receiver and `signFor` that agreed on a wrong scheme
 * would still fail. Tests only: nothing in the engine imports this module.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { receiverFor, signFor } from './registry.js';
import { resolveSecret } from './secrets.js';
import {
  ConnectorError,
  type ConnectorContext,
  type Delivery,
  type OpenConnector,
  type Page,
  type Received,
  type ReceiverOptions,
} from './types.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../test/fixtures');
export const raw = (file: string): Buffer => readFileSync(path.join(FIXTURES, file));
// biome-ignore lint/suspicious/noExplicitAny: vendor payloads, read field by field
export const fixture = (file: string): Record<string, any> => JSON.parse(raw(file).toString('utf8'));

/** Distinctive, so that a message quoting it is caught. */
export const SECRET = 'whsec_Zq8v3LmT0pK4sN7xWb2cYd6fGh1jRt5u';
export const WRONG = 'whsec_not-the-secret-the-connection-has';
export const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
export const T = Math.floor(NOW / 1000);
const PATH = '/hooks/acme/orders';

export const hmac = (algo: 'sha256' | 'sha1', key: string, data: string | Buffer) => createHmac(algo, key).update(data);

export function ctx(settings: Record<string, unknown>): ConnectorContext {
  return { settings, secret: resolveSecret, system: 'acme/test' };
}

export function receive(
  connector: string,
  settings: Record<string, unknown>,
  body: Buffer,
  headers: Record<string, string>,
  opts: ReceiverOptions = { now: () => NOW },
  url = PATH,
): Received {
  const receiver = receiverFor(connector, ctx(settings), opts);
  if (!receiver) throw new Error(`no receiver for ${connector}`);
  const delivery: Delivery = { body, headers, url };
  return receiver.receive(delivery);
}

/** The ConnectorError `fn` throws (the test fails if it returns, or throws anything else). */
export function refusal(fn: () => unknown): ConnectorError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorError);
    return e as ConnectorError;
  }
  throw new Error('expected a ConnectorError, but the delivery was accepted');
}

/** The body with one byte changed: the last digit in it, so that the body is still valid JSON. */
export function alterOneByte(body: Buffer): Buffer {
  const out = Buffer.from(body);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] >= 0x30 && out[i] <= 0x39) {
      out[i] = out[i] === 0x39 ? 0x38 : out[i] + 1;
      return out;
    }
  }
  throw new Error('no digit to alter');
}

/** JSON.parse, with integers beyond 2^53 as their text: what a lossless parse of these bodies must give. */
export const parseAsVendorMeant = (body: Buffer) =>
  JSON.parse(body.toString('utf8'), (_k, v) =>
    typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) ? String(v) : v,
  );

/** A WooCommerce order as its webhook delivers it: the body the sandbox and the registry's tests use too. */
export const wooOrder = raw('woocommerce/order.retrieve.json');

/** One sender's webhook, as the contract (`describeReceiver`) exercises it. */
export interface VendorCase {
  connector: string;
  settings: (secret: string) => Record<string, unknown>;
  /** The settings without any signing secret. */
  unsigned: Record<string, unknown>;
  body: Buffer;
  /** The header that carries the signature, lower case. */
  header: string;
  /** The headers the vendor sends, signature computed as its documentation says. */
  documented: (secret: string, body: Buffer) => Record<string, string>;
  /** What signFor needs to sign the same way. */
  signOptions: Parameters<typeof signFor>[3];
  expected: Received;
}

/** The contract every receiver meets: what its sender signs is accepted, and nothing else. */
export function describeReceiver(c: VendorCase): void {
  describe(`${c.connector} webhooks`, () => {
    const headers = c.documented(SECRET, c.body);

    it('accepts a delivery signed as the vendor documents, with its delivery id, topic and records', () => {
      expect(receive(c.connector, c.settings(SECRET), c.body, headers)).toEqual(c.expected);
    });

    it('signFor signs exactly as the vendor does, and its deliveries are accepted', () => {
      const signed = signFor(c.connector, SECRET, c.body, c.signOptions);
      expect(signed[c.header]).toBe(headers[c.header]);
      expect(receive(c.connector, c.settings(SECRET), c.body, signed)).toEqual(c.expected);
    });

    it('refuses the body altered by one byte (401, naming the header)', () => {
      const altered = alterOneByte(c.body);
      expect(altered.equals(c.body)).toBe(false);
      const e = refusal(() => receive(c.connector, c.settings(SECRET), altered, headers));
      expect(e.status).toBe(401);
      expect(e.transient).toBe(false);
      expect(e.message.toLowerCase()).toContain(c.header);
    });

    it('refuses a delivery signed with another secret', () => {
      const e = refusal(() => receive(c.connector, c.settings(SECRET), c.body, c.documented(WRONG, c.body)));
      expect(e.status).toBe(401);
      expect(e.message).toMatch(/does not match/);
    });

    it('refuses a delivery without the signature header', () => {
      const { [c.header]: _, ...rest } = headers;
      const e = refusal(() => receive(c.connector, c.settings(SECRET), c.body, rest));
      expect(e.status).toBe(401);
      expect(e.message.toLowerCase()).toContain(`${c.header} header is missing`);
    });

    it('refuses a signature that is not a digest at all', () => {
      const e = refusal(() =>
        receive(c.connector, c.settings(SECRET), c.body, { ...headers, [c.header]: 'not a signature!' }),
      );
      expect(e.status).toBe(401);
    });

    it('never puts the secret, or the signature it expected, in a refusal', () => {
      const altered = alterOneByte(c.body);
      const expectedForAltered = c.documented(SECRET, altered)[c.header];
      const errors = [
        refusal(() => receive(c.connector, c.settings(SECRET), altered, headers)),
        refusal(() => receive(c.connector, c.settings(SECRET), c.body, c.documented(WRONG, c.body))),
        refusal(() => receive(c.connector, c.settings(SECRET), c.body, { ...headers, [c.header]: '' })),
      ];
      for (const e of errors) {
        expect(e.message).not.toContain(SECRET);
        expect(e.message).not.toContain(WRONG);
        // The digest part of the header (Stripe's is after v1=).
        expect(e.message).not.toContain(expectedForAltered.replace(/^.*v1=/, ''));
        expect(e.message).not.toContain(headers[c.header].replace(/^.*v1=/, ''));
      }
    });

    it('refuses an authentic body that is not JSON (400)', () => {
      const body = Buffer.from('<xml>not json</xml>');
      const e = refusal(() => receive(c.connector, c.settings(SECRET), body, c.documented(SECRET, body)));
      expect(e.status).toBe(400);
    });

    it.skipIf(c.connector === 'sandbox')(
      'a connection without its signing secret is a ConnectorError (500), not a crash',
      () => {
        const e = refusal(() => receive(c.connector, c.unsigned, c.body, headers));
        expect(e.status).toBe(500);
        expect(e.transient).toBe(false);
      },
    );
  });
}

/**
 * A sender that signs the raw body with HMAC-SHA256 in one header and names its delivery id and topic: the case
 * `describeReceiver` takes, from what is that sender's own. The documented headers are content-type, the signature,
 * then `headers`; the expected delivery carries `records` (default: the body, parsed).
 */
export function bodySigned(c: {
  connector: string;
  settings: VendorCase['settings'];
  unsigned: VendorCase['unsigned'];
  body: Buffer;
  header: string;
  encoding: 'hex' | 'base64';
  /** The sender's other headers, as it sends them. */
  headers: Record<string, string>;
  deliveryId: string;
  topic: string;
  /** What else signFor needs besides the delivery id and the topic. */
  signOptions?: VendorCase['signOptions'];
  records?: unknown[];
}): VendorCase {
  return {
    connector: c.connector,
    settings: c.settings,
    unsigned: c.unsigned,
    body: c.body,
    header: c.header,
    documented: (s, b) => ({
      'content-type': 'application/json',
      [c.header]: hmac('sha256', s, b).digest(c.encoding),
      ...c.headers,
    }),
    signOptions: { deliveryId: c.deliveryId, topic: c.topic, ...c.signOptions },
    expected: {
      deliveryId: c.deliveryId,
      topic: c.topic,
      records: c.records ?? [JSON.parse(c.body.toString('utf8'))],
    },
  };
}

/** The ConnectorError a call fails with; the test fails if it succeeds or fails with anything else. */
export async function failureOf(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorError);
    return e as ConnectorError;
  }
  throw new Error('expected a ConnectorError');
}

/**
 * Reads a stream to the end of its slices, as the pipeline would: each page's cursor fed to the next read. The
 * records, the last cursor and how many pages it took.
 */
export async function readStream<R = unknown>(
  c: Pick<OpenConnector, 'read'>,
  stream: string,
  cursor: unknown = null,
  limit = 1000,
): Promise<{ records: R[]; cursor: unknown; pages: number }> {
  const records: R[] = [];
  let pages = 0;
  for (;;) {
    const page: Page = await c.read!({ stream, cursor, limit });
    records.push(...(page.records as R[]));
    cursor = page.cursor;
    pages++;
    if (!page.more) return { records, cursor, pages };
  }
}
