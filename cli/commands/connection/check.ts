import { Args, Flags } from '@oclif/core';
import { connectorSpec } from '../../../engine/connectors/catalog.js';
import { openConnector } from '../../../engine/connectors/registry.js';
import { configureSecrets, redact } from '../../../engine/connectors/secrets.js';
import { type CheckReport, ConnectorError } from '../../../engine/connectors/types.js';
import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { openWorkspace, resolveEnvironment } from '../../../engine/workspace/index.js';
import { RsyncCommand } from '../../base.js';
import { green, red } from '../../views/diagnostics.js';

export interface CheckOutput extends CheckReport {
  version: 1;
  env: string;
  connection: string;
  connector: string;
  ok: boolean;
}

export default class ConnectionCheck extends RsyncCommand<CheckOutput> {
  static summary = 'Check a connection against its system: credentials, permissions, API version, rate-limit headroom.';
  static description = `Authenticates with the connection's settings in the environment (overlays applied, secrets
resolved from their references), reads one page of each stream the customer's flows read from it, and reports
the permissions those streams need but the credentials lack, how long the pinned API version stays supported, and
how much of the rate limit is free. Exit code 0 when everything checked is fine, 1 when something is not (a
refused credential, a missing permission, a stream that cannot be read), 69 when the system cannot be reached.`;
  static examples = [
    '<%= config.bin %> connection check northwind/shopify --env staging',
    '<%= config.bin %> connection check contoso/square --json',
  ];
  static args = {
    connection: Args.string({ description: '<customer>/<connection>', required: true }),
  };
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment (default: the first in rsync.yaml)' }),
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
  };

  async run(): Promise<CheckOutput> {
    const { args, flags } = await this.parse(ConnectionCheck);
    const [customer, name, ...rest] = args.connection.split('/');
    if (!customer || !name || rest.length)
      throw new RsyncError(
        `"${args.connection}" is not <customer>/<connection>.`,
        ExitCode.USAGE,
        'For example: rsync connection check northwind/shopify',
      );
    const target = await resolveEnvironment(flags.path, flags.env);
    configureSecrets({ folder: target.secretsFolder, settings: target.secrets });
    const { ws } = await openWorkspace({ path: flags.path, env: target.env });
    const model = ws.customers.get(customer);
    if (!model)
      throw new RsyncError(
        `No customer "${customer}" in this workspace.`,
        ExitCode.USAGE,
        `Known: ${[...ws.customers.keys()].join(', ')}.`,
      );
    const conn = model.connections.get(name);
    if (!conn)
      throw new RsyncError(
        `Customer ${customer} has no connection "${name}".`,
        ExitCode.USAGE,
        `Known: ${[...model.connections.keys()].join(', ')}.`,
      );
    const spec = conn.spec as { connector?: string; settings?: Record<string, unknown> };
    const connector = String(spec.connector);
    const settings = spec.settings ?? {};
    // The streams the customer's flows read from this connection (all the connector's, when no flow reads it).
    const read = new Set<string>();
    for (const f of model.flows.values()) {
      const s = (f.spec as { source?: { connection?: string; stream?: string } }).source;
      if (s?.connection === name && s.stream) read.add(s.stream);
    }
    const streams = read.size ? [...read].sort() : Object.keys(connectorSpec(connector)?.streams ?? {});
    const system = `${customer}/${name}`;
    this.note(`checking ${system} (${connector}) in ${target.env}: ${streams.join(', ') || 'no streams'}…`);

    let report: CheckReport;
    try {
      const open = openConnector({ system, connector, settings });
      try {
        if (open.check) report = await open.check(streams);
        else if (open.read) report = await readOnePage(open.read.bind(open), streams);
        else
          throw new RsyncError(
            `Connector ${connector} cannot be checked: it neither reads nor reports a check.`,
            ExitCode.FAILED,
          );
      } finally {
        await open.close?.();
      }
    } catch (e) {
      if (!(e instanceof ConnectorError)) throw e;
      const code = e.kind === 'transient' || e.kind === 'throttled' ? ExitCode.UNAVAILABLE : ExitCode.FAILED;
      const hint =
        e.kind === 'auth'
          ? `The credentials were refused: check the secret references in integrations/${customer}/connections/ (${name}) for ${target.env}.`
          : e.kind === 'transient'
            ? 'The system could not be reached: check the address in the settings and the network, then try again.'
            : e.kind === 'throttled'
              ? 'The system is rate-limiting these credentials: try again later.'
              : undefined;
      throw new RsyncError(`${system}: ${redact(e.message)}`, code, hint);
    }
    const missing = report.scopes?.missing ?? [];
    const ok = report.streams.every((s) => s.ok) && missing.length === 0;
    const out: CheckOutput = { version: 1, env: target.env, connection: system, connector, ok, ...report };
    if (!this.json) this.log(render(out));
    this.exitCode = ok ? ExitCode.OK : ExitCode.FAILED;
    return out;
  }
}

/** A connector without a check of its own: one page of each stream is the check. */
async function readOnePage(
  read: (r: { stream: string; cursor: null; limit: number }) => Promise<{ records: unknown[] }>,
  streams: string[],
): Promise<CheckReport> {
  const out: CheckReport['streams'] = [];
  for (const stream of streams) {
    try {
      const page = await read({ stream, cursor: null, limit: 10 });
      out.push({ stream, ok: true, records: page.records.length });
    } catch (e) {
      if (e instanceof ConnectorError && (e.kind === 'auth' || e.kind === 'transient')) throw e;
      out.push({ stream, ok: false, error: redact((e as Error).message) });
    }
  }
  return { streams: out };
}

function render(o: CheckOutput): string {
  const lines = [`${o.ok ? green('✓') : red('✗')} ${o.connection} (${o.connector}, ${o.env})`];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(12)} ${v}`);
  if (o.identity) row('identity', o.identity);
  if (o.apiVersion)
    row(
      'API version',
      `${o.apiVersion.version}${o.apiVersion.supportedUntil ? `, supported until ${o.apiVersion.supportedUntil}` : ''}${o.apiVersion.warning ? ` — ${o.apiVersion.warning}` : ''}`,
    );
  if (o.scopes)
    row(
      'permissions',
      o.scopes.missing.length
        ? red(`missing ${o.scopes.missing.join(', ')}`)
        : `all granted (${o.scopes.granted.length})`,
    );
  if (o.rateLimit) row('rate limit', `${o.rateLimit.available} of ${o.rateLimit.max} ${o.rateLimit.unit} free`);
  for (const s of o.streams)
    row(
      s.stream === o.streams[0].stream ? 'streams' : '',
      s.ok ? `${green('✓')} ${s.stream}: ${s.records ?? 0} records read` : `${red('✗')} ${s.stream}: ${s.error}`,
    );
  for (const n of o.notes ?? []) row('note', n);
  return lines.join('\n');
}
