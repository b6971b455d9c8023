/**
 * The netsuite plugin: Oracle NetSuite (SuiteTalk REST web services and SuiteQL), an ERP — its catalogue entry
 * (spec.ts) and its connector (connector.ts: upserts by external id, SuiteQL reads, read-backs and the connection
 * check; auth.ts signs), with the fake NetSuite its tests run against (fake.ts). Everything rsync knows of the system
 * lives in this folder, which imports no other plugin's folder, and nothing from runtime/, plan/, apply/ or cli/.
 */
import { openNetSuite } from './connector.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openNetSuite(ctx),
};
