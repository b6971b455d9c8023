/**
 * The file plugin: file drops, CSV and JSON Lines (file) — its catalogue entry (spec.ts) and its reader and writer
 * (connector.ts). Everything rsync knows of the system lives in this folder, which imports no other plugin's folder,
 * and nothing from runtime/, plan/, apply/ or cli/.
 */
import { openFile } from './connector.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: openFile,
};
