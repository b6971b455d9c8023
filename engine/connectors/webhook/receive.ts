/**
 * Webhooks from any sender: the connection names the scheme (`settings.signature`: header, HMAC-SHA256 or
 * HMAC-SHA1, hex or base64, and the secret) and the sender signs the raw body with it; see `receiveGeneric` for
 * the delivery id, topic and records. There is no unsigned mode.
 */
import { isObject } from '../../util/merge.js';
import { notConfigured, receiveGeneric, signGeneric, signingSecret } from '../receive.js';
import type { Receiver, SignatureScheme } from '../types.js';

const DEFAULTS: Required<SignatureScheme> = {
  header: 'X-Signature',
  algorithm: 'hmac-sha256',
  encoding: 'hex',
};

export const receiver: Receiver = {
  open: (ctx) => ({
    receive(d) {
      const sig = ctx.settings.signature;
      // No opt-out: an unsigned endpoint would let anyone on the internet feed records into the flows.
      if (!isObject(sig))
        throw notConfigured(
          'webhook',
          'settings.signature is not set: name the header, algorithm, encoding and secret the sender signs with',
        );
      const scheme = genericScheme(sig);
      const secret = signingSecret('webhook', ctx, 'signature.secret', sig.secret);
      return receiveGeneric('webhook', d, scheme, secret);
    },
  }),
  sign: (secret, body, opts) => signGeneric({ ...DEFAULTS, ...opts.signature }, secret, body, opts),
};

/** The connection's signature settings with the catalogue's defaults filled in. */
function genericScheme(sig: Record<string, unknown>): Required<SignatureScheme> {
  const header = sig.header ?? DEFAULTS.header;
  const algorithm = sig.algorithm ?? DEFAULTS.algorithm;
  const encoding = sig.encoding ?? DEFAULTS.encoding;
  // Validation checks these against the catalogue; a connection opened without it must still not guess.
  if (typeof header !== 'string' || header === '')
    throw notConfigured('webhook', 'settings.signature.header is not a header name');
  if (algorithm !== 'hmac-sha256' && algorithm !== 'hmac-sha1')
    throw notConfigured('webhook', 'settings.signature.algorithm is not hmac-sha256 or hmac-sha1');
  if (encoding !== 'hex' && encoding !== 'base64')
    throw notConfigured('webhook', 'settings.signature.encoding is not hex or base64');
  return { header, algorithm, encoding };
}
