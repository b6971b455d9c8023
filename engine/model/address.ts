/** Addresses (DESIGN.md): `<customer>/<kind>/<name>`, the identity of a resource in plans, state, logs and metrics. */
import { ExitCode, RsyncError } from '../diagnostics/errors.js';

/** A flow given as `customer/name`, `customer/flow/name`, or `name` with a customer filter → its address. */
export function flowAddress(flow: string, customer?: string): string {
  const parts = flow.split('/');
  if (parts.length === 3 && parts[1] === 'flow') return flow;
  if (parts.length === 2) return `${parts[0]}/flow/${parts[1]}`;
  if (parts.length === 1 && customer) return `${customer}/flow/${flow}`;
  throw new RsyncError(
    `"${flow}" does not name a flow`,
    ExitCode.USAGE,
    'Name a flow as <customer>/<flow> (e.g. northwind/orders-to-erp), or give --customer.',
  );
}
