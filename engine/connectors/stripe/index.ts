/**
 * The stripe plugin: Stripe (payments and payouts) — its catalogue entry (spec.ts), its webhook receiver
 * (receive.ts), and its reader (connector.ts: the list endpoints and the Events API, with lookup and check), tested
 * against the fake Stripe API beside it (fake.ts). Everything rsync knows of the system lives in this folder, which
 * imports no other plugin's folder, and nothing from runtime/, plan/, apply/ or cli/.
 */
import { openStripe } from './connector.js';
import { receiver } from './receive.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openStripe(ctx),
  receiver,
};
