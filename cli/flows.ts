/** Naming flows on the command line: `<customer>/<flow>`, or a flow name with --customer. */
import { ExitCode, RsyncError } from '../engine/errors.js';
import { flowAddress } from '../engine/state/dead-letters.js';
import { loadFlows, type FlowDef } from '../engine/runtime/flows.js';
import type pg from 'pg';

export async function deployedFlow(
  db: Pick<pg.Pool, 'query'>,
  env: string,
  name: string,
  customer?: string,
): Promise<FlowDef> {
  const address = flowAddress(name, customer);
  const flows = await loadFlows(db, env);
  const flow = flows.get(address);
  if (!flow) {
    const near = [...flows.keys()].filter((a) => a.endsWith(`/flow/${address.split('/').pop()}`)).slice(0, 5);
    throw new RsyncError(
      `No flow ${address} is deployed in ${env}.`,
      ExitCode.NO_INPUT,
      near.length
        ? `Deployed flows of that name: ${near.map((a) => a.replace('/flow/', '/')).join(', ')}.`
        : `Apply it first (\`rsync apply --env ${env}\`), or see \`rsync status --env ${env}\`.`,
    );
  }
  return flow;
}
