/**
 * The business-central plugin: Microsoft Dynamics 365 Business Central (API v2.0), an ERP — its catalogue entry
 * (spec.ts) and its connector (connector.ts: reads of items and customers by lastModifiedDateTime, writes of sales
 * documents with their lines, customers, items and general journal lines, fetch for `rsync xref verify`, and the
 * connection check), with the fake Business Central (and Entra token endpoint) its tests run against (fake.ts).
 * Everything rsync knows of the system lives in this folder, which imports no other plugin's folder, and nothing
 * from runtime/, plan/, apply/ or cli/.
 */
import { openBusinessCentral } from './connector.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openBusinessCentral(ctx),
};
