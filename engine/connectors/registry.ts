/**
 * Opening a deployed connection for the runtime: its connector type picks the implementation. In sandbox mode
 * (`rsync worker --sandbox`) every connection is served by the sandbox connector, whatever its type, so the
 * example workspace runs against simulated systems, and webhooks are signed with the sandbox's scheme.
 */
import type pg from 'pg';
import { openFile } from './file/connector.js';
import { openHttp } from './http/connector.js';
import { openPostgres } from './postgres/connector.js';
import { receiverFor } from './receive.js';
import { openSandbox } from './sandbox/connector.js';
import { resolveSecret } from './secrets.js';
import { ConnectorError, type ConnectorContext, type OpenConnector } from './types.js';

export interface OpenOptions {
  /** `<customer>/<connection>` */
  system: string;
  type: string;
  settings: Record<string, unknown>;
  state: pg.Pool;
  sandbox?: boolean;
  throttle?: (cost: number) => Promise<void>;
}

export const RUNTIME_CONNECTORS = ['postgres', 'http', 'file', 'webhook', 'sandbox'] as const;

export function openConnector(o: OpenOptions): OpenConnector {
  const ctx: ConnectorContext = {
    settings: o.settings,
    secret: resolveSecret,
    system: o.system,
    state: o.state,
    throttle: o.throttle,
  };
  if (o.sandbox || o.type === 'sandbox') {
    const c = openSandbox(ctx, o.type);
    // The simulated systems sign their deliveries with the sandbox's secret (a sandbox connection may set its own).
    const receiver = receiverFor('sandbox', o.type === 'sandbox' ? ctx : { ...ctx, settings: {} });
    return { ...c, receive: receiver?.receive.bind(receiver) };
  }
  const receiver = receiverFor(o.type, ctx);
  const receive = receiver ? receiver.receive.bind(receiver) : undefined;
  switch (o.type) {
    case 'postgres':
      return { ...openPostgres(ctx), receive };
    case 'http':
      return { ...openHttp(ctx), receive };
    case 'file':
      return { ...openFile(ctx), receive };
    case 'webhook':
      return { type: 'webhook', receive };
    default:
      // Vendor connectors (shopify, netsuite…) receive webhooks here; reading and writing their APIs is not built
      // yet: run them against the sandbox, or describe the API with an http connection.
      return {
        type: o.type,
        receive,
        read: () =>
          Promise.reject(
            new ConnectorError(
              `connector ${o.type} cannot read at run time yet: run the worker with --sandbox, or use an http connection`,
              false,
            ),
          ),
        write: () =>
          Promise.reject(
            new ConnectorError(
              `connector ${o.type} cannot write at run time yet: run the worker with --sandbox, or use an http connection`,
              false,
            ),
          ),
      };
  }
}
