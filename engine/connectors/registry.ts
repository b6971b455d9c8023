/**
 * Opening a deployed connection for the runtime: its connector's plugin opens it, and gives it its receiver. In
 * sandbox mode (`rsync worker --sandbox`) every connection is served by the sandbox connector, whatever its
 * connector, so the example workspace runs against simulated systems, and webhooks are signed with the sandbox's
 * scheme.
 */
import type pg from 'pg';
import { PLUGINS } from './plugins.js';
import { openSandbox } from './sandbox/connector.js';
import { receiver as sandboxReceiver, sandboxSigningContext } from './sandbox/receive.js';
import { withSecretsFetched } from './secret-managers/cache.js';
import { resolveSecret } from './secrets.js';
import {
  ConnectorError,
  type ConnectorContext,
  type ConnectorPlugin,
  type Envelope,
  type OpenConnector,
  type ReceiveConnector,
  type ReceiverOptions,
  type SignOptions,
} from './types.js';

const PLUGIN = new Map<string, ConnectorPlugin>(PLUGINS.map((p) => [p.spec.name, p]));

export interface OpenOptions {
  /** `<customer>/<connection>` */
  system: string;
  /** The connection's connector (its `connector:`). */
  connector: string;
  settings: Record<string, unknown>;
  /** The state database (the sandbox needs it; a one-off check has none). */
  state?: pg.Pool;
  sandbox?: boolean;
  limiter?: ConnectorContext['limiter'];
  slots?: ConnectorContext['slots'];
  calls?: ConnectorContext['calls'];
}

export function openConnector(o: OpenOptions): OpenConnector {
  // A secret manager's values are fetched before each call that may send one (secret-managers/cache.ts); a system
  // the sandbox stands in for needs none.
  const open = openWithoutFetching(o);
  return o.sandbox && o.connector !== 'sandbox' ? open : withSecretsFetched(open, o.settings);
}

function openWithoutFetching(o: OpenOptions): OpenConnector {
  const ctx: ConnectorContext = {
    settings: o.settings,
    secret: resolveSecret,
    system: o.system,
    state: o.state,
    limiter: o.limiter,
    slots: o.slots,
    calls: o.calls,
  };
  if (o.sandbox && o.connector !== 'sandbox') {
    const c = openSandbox(ctx, o.connector);
    // The simulated systems sign their deliveries with the sandbox's secret, not with the connection's settings:
    // as their vendor does (its envelope, headers and signature) when the vendor's receiver describes its envelope,
    // else as a generic sender.
    const own = PLUGIN.get(o.connector)?.receiver;
    const receiver = own?.envelope
      ? own.open(sandboxSigningContext(ctx), {})
      : sandboxReceiver.open({ ...ctx, settings: {} }, {});
    return { ...c, receive: receiver.receive.bind(receiver) };
  }
  const plugin = PLUGIN.get(o.connector);
  const receiver = plugin?.receiver?.open(ctx, {});
  const receive = receiver ? receiver.receive.bind(receiver) : undefined;
  if (plugin?.open) return { ...plugin.open(ctx), receive };
  // Vendor connectors (shopify, netsuite…) receive webhooks here; reading and writing their APIs is not built
  // yet: run them against the sandbox, or describe the API with an http connection.
  return {
    connector: o.connector,
    receive,
    read: () =>
      Promise.reject(
        new ConnectorError(
          `connector ${o.connector} cannot read at run time yet: run the worker with --sandbox, or use an http connection`,
          false,
        ),
      ),
    write: () =>
      Promise.reject(
        new ConnectorError(
          `connector ${o.connector} cannot write at run time yet: run the worker with --sandbox, or use an http connection`,
          false,
        ),
      ),
  };
}

/** The receiver of a connector, or undefined when the connector receives no webhooks. */
export function receiverFor(
  connector: string,
  ctx: ConnectorContext,
  opts: ReceiverOptions = {},
): ReceiveConnector | undefined {
  return PLUGIN.get(connector)?.receiver?.open(ctx, opts);
}

/** The headers a sender of `connector` sends with `body`, signed with `secret` (see Receiver.sign). */
export function signFor(
  connector: string,
  secret: string,
  body: Buffer,
  opts: SignOptions = {},
): Record<string, string> {
  const receiver = PLUGIN.get(connector)?.receiver;
  if (!receiver) throw new TypeError(`signFor: connector ${connector} receives no webhooks`);
  return receiver.sign(secret, body, opts);
}

/** How a sender of `connector` delivers a record (its envelope and headers); a generic sender's: the bare record. */
export function envelopeFor(
  connector: string,
  record: Record<string, unknown>,
  e: Envelope,
): { connector: string; body: unknown; headers: Record<string, string> } {
  const own = PLUGIN.get(connector)?.receiver;
  if (!own?.envelope) return { connector: 'sandbox', body: record, headers: {} };
  const { body, headers } = own.envelope(record, e);
  return { connector, body, headers: headers ?? {} };
}
