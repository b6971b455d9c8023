/**
 * The fake AvaTax (engine/connectors/avalara/fake.ts) for the benchmark's avalara part, in a process of its own so
 * that its CPU (parsing the models, computing the tax, answering) is not counted as the connector's:
 *
 *   node .build/test/bench/avalara-fake.js     (spawned with an IPC channel)
 *
 * prints one line of JSON, `{ "url", "accountId", "licenseKey" }`, answers the message "counts" with its counts
 * (transactions created, adjusted…), and serves until SIGTERM.
 */
import { startFakeAvaTax } from '../../engine/connectors/avalara/fake.js';

const fake = await startFakeAvaTax({ companies: ['BENCH'] });
process.stdout.write(`${JSON.stringify({ url: fake.url, accountId: fake.accountId, licenseKey: fake.licenseKey })}\n`);
process.on('message', (m) => {
  if (m === 'counts') process.send?.({ ...fake.counts, held: fake.transactions().length });
});
process.on('SIGTERM', () => {
  fake.close().finally(() => process.exit(0));
});
