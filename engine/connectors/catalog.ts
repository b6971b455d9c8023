/**
 * The connector catalogue: what each connector can do, as data — every plugin's spec.ts, by name. Validation
 * reads only this (a flow whose source cannot read its stream is an error before anything runs); the runtime
 * implementations beside each spec must match what it declares.
 */
import { PLUGINS } from './plugins.js';
import type { ConnectorSpec } from './spec.js';

export const CONNECTORS: Readonly<Record<string, ConnectorSpec>> = Object.fromEntries(
  PLUGINS.map((p) => [p.spec.name, p.spec]),
);

/** The catalogue entry of a connector, or undefined. */
export function connectorSpec(connector: string): ConnectorSpec | undefined {
  return Object.hasOwn(CONNECTORS, connector) ? CONNECTORS[connector] : undefined;
}
