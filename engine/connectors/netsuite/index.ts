/**
 * The netsuite plugin: Oracle NetSuite (SuiteTalk REST), an ERP — its catalogue entry (spec.ts). It has no reader or
 * writer yet: at run time the sandbox serves it (`rsync worker --sandbox`), or an http connection describes its API.
 * Its connector.ts, with its vendor fake and tests, belongs in this folder. Everything rsync knows of the system lives
 * in this folder, which imports no other plugin's folder, and nothing from runtime/, plan/, apply/ or cli/.
 */
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
};
