/**
 * The avalara plugin: Avalara AvaTax, the tax engine — its catalogue entry (spec.ts) and its runtime connector
 * (connector.ts: orders and refunds recorded as transactions by CreateOrAdjustTransaction, voids, the transactions
 * stream, xref fetch, the connection check), tested against the fake AvaTax beside it (fake.ts). Everything rsync
 * knows of the system lives in this folder, which imports no other plugin's folder, and nothing from runtime/,
 * plan/, apply/ or cli/.
 */
import { openAvalara } from './connector.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openAvalara(ctx),
};
