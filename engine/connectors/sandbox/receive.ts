/**
 * The sandbox's webhooks: signed like a generic sender's (`X-Rsync-Signature`, hex HMAC-SHA256 of the raw body;
 * see `receiveGeneric`), with the connection's `settings.webhookSecret` or else the public demo secret. In sandbox
 * mode every connection receives with this scheme, since the simulated systems sign their deliveries with it.
 */
import { receiveGeneric, signGeneric, signingSecret } from '../receive.js';
import type { ConnectorContext, Receiver, SignatureScheme } from '../types.js';

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

/**
 * A connection's context for its own vendor's receiver in sandbox mode: every signing secret it may name
 * (`webhookSecret`, `webhookSignatureKey`) is the sandbox's, with which the simulated systems sign as that vendor.
 */
export function sandboxSigningContext(ctx: ConnectorContext): ConnectorContext {
  const ref = { secretRef: 'sandbox' };
  return {
    ...ctx,
    settings: { webhookSecret: ref, webhookSignatureKey: ref },
    secret: () => SANDBOX_WEBHOOK_SECRET,
  };
}
