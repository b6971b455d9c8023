/** What the `rsync xref` commands share: the flow argument, and the deployed flow it names. */
import { Args } from '@oclif/core';
import { ExitCode, RsyncError } from '../engine/diagnostics/errors.js';
import { flowAddress } from '../engine/model/address.js';
import { type FlowDef, loadFlows } from '../engine/runtime/flows.js';
import type { Database } from '../engine/state/db.js';

export const flowArg = {
  flow: Args.string({ description: '<customer>/<flow>', required: true }),
};

/** The deployed flow `<customer>/<flow>` of an environment, or a clear error naming what is deployed. */
export async function deployedFlow(db: Database, env: string, flow: string): Promise<FlowDef> {
  const address = flowAddress(flow);
  const flows = await loadFlows(db.pool, env);
  const f = flows.get(address);
  if (!f)
    throw new RsyncError(
      `no flow ${flow} is deployed in ${env}`,
      ExitCode.FAILED,
      flows.size
        ? `Deployed flows: ${[...flows.keys()]
            .slice(0, 8)
            .map((a) => a.replace('/flow/', '/'))
            .join(', ')}${flows.size > 8 ? ', …' : ''}. Apply the workspace first (rsync plan, rsync apply).`
        : `Nothing is deployed in ${env}: run rsync plan --env ${env} and rsync apply first.`,
    );
  return f;
}
