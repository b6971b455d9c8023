/**
 * The sandbox's webhooks: signed like a generic sender's (`X-Rsync-Signature`, hex HMAC-SHA256 of the raw body;
 * see `receiveGeneric`), with the connection's `settings.webhookSecret` or else the public demo secret. In sandbox
 * mode every connection receives with this scheme, since the simulated systems sign their deliveries with it.
 */
import { receiveGeneric, signGeneric, signingSecret } from '../receive.js';
import type { Receiver, SignatureScheme } from '../types.js';

/** The sandbox's signing secret when its connection names none: public on purpose, the sandbox guards nothing. */
export const SANDBOX_WEBHOOK_SECRET = 'rsync-sandbox';

const SCHEME: Required<SignatureScheme> = {
  header: 'X-Rsync-Signature',
  algorithm: 'hmac-sha256',
  encoding: 'hex',
};

export const receiver: Receiver = {
  open: (ctx) => ({
    receive(d) {
      const secret = signingSecret('sandbox', ctx, 'webhookSecret', ctx.settings.webhookSecret, SANDBOX_WEBHOOK_SECRET);
      return receiveGeneric('sandbox', d, SCHEME, secret);
    },
  }),
  sign: (secret, body, opts) => signGeneric(SCHEME, secret, body, opts),
};
