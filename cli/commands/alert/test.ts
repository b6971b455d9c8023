import { Args, Flags } from '@oclif/core';
import { configureSecrets } from '../../../engine/connectors/secrets.js';
import { ExitCode, RsyncError } from '../../../engine/diagnostics/errors.js';
import { formatDiagnostic } from '../../../engine/diagnostics/diagnostic.js';
import { addressOf, type Resource } from '../../../engine/model/workspace.js';
import { alertDef, sampleMessage, send } from '../../../engine/runtime/alerts/index.js';
import { alertBrandingOf } from '../../../engine/workspace/branding.js';
import { openAndValidate, resolveEnvironment } from '../../../engine/workspace/index.js';
import { RsyncCommand } from '../../base.js';
import { green, red } from '../../views/diagnostics.js';

export interface AlertTestOutput {
  version: 1;
  env: string;
  alert: string;
  ok: boolean;
  channels: { channel: number; type: string; outcome: 'sent' | 'retry' | 'refused'; answer: string }[];
}

export default class AlertTest extends RsyncCommand<AlertTestOutput> {
  static summary = "Send a sample message through an alert's channels and print what each answered.";
  static description = `Reads the Alert from the workspace (the environment's overlays applied, secrets resolved from
their references as a worker would), renders a test message with the partner's branding, and sends it once to each
of its channels: Slack, the webhook, e-mail and PagerDuty (a trigger, resolved at once by its dedup_key). Nothing
is recorded in the database. Exit code 0 when every channel took the message, 1 when one did not.`;
  static examples = [
    '<%= config.bin %> alert test orders-down --env production',
    '<%= config.bin %> alert test northwind/orders-down --json',
  ];
  static args = {
    name: Args.string({
      description: 'the Alert: <name> (partner-wide, in rsync.yaml) or <customer>/<name>',
      required: true,
    }),
  };
  static flags = {
    env: Flags.string({ char: 'e', description: 'the environment (default: the first in rsync.yaml)' }),
    path: Flags.string({ description: 'the workspace (default: the current folder)', default: '.' }),
  };

  async run(): Promise<AlertTestOutput> {
    const { args, flags } = await this.parse(AlertTest);
    const target = await resolveEnvironment(flags.path, flags.env);
    configureSecrets({ folder: target.secretsFolder, settings: target.secrets });
    const v = await openAndValidate({ path: flags.path, env: target.env });
    const alert = findAlert(v.ws, args.name);
    const problems = v.diagnostics.filter((d) => d.severity === 'error' && d.address === addressOf(alert, target.env));
    if (problems.length)
      throw new RsyncError(
        `Alert ${addressOf(alert)} is not valid:\n${problems.map((d) => formatDiagnostic(d)).join('\n')}`,
        ExitCode.FAILED,
        'Fix it (rsync validate lists every problem), then test again.',
      );
    const def = alertDef(target.env, {
      address: addressOf(alert),
      customer: alert.customer ?? null,
      kind: 'alert',
      name: alert.name,
      revision: 0,
      spec: { spec: alert.spec, effective: { branding: alertBrandingOf(v.ws) } },
    });
    const message = sampleMessage(def);
    this.note(`sending a test message of ${def.address} (${target.env}) to ${def.channels.length} channels…`);
    const channels = await Promise.all(
      def.channels.map(async (c, channel) => {
        const a = await send(c, message);
        // PagerDuty opens an incident for the trigger: resolve it at once (same dedup_key), so no one is paged for a test.
        if (c.type !== 'pagerduty' || a.outcome !== 'sent') return { channel, type: c.type, ...a };
        const r = await send(c, { ...message, event: 'resolve' });
        return { channel, type: c.type, ...r, answer: `${a.answer}; resolved: ${r.answer}` };
      }),
    );
    const out: AlertTestOutput = {
      version: 1,
      env: target.env,
      alert: def.address,
      ok: channels.every((c) => c.outcome === 'sent'),
      channels: channels.map(({ channel, type, outcome, answer }) => ({ channel, type, outcome, answer })),
    };
    if (!this.json)
      this.log(
        [
          `${out.ok ? green('✓') : red('✗')} ${out.alert} (${out.env})`,
          ...out.channels.map(
            (c) =>
              `  ${c.outcome === 'sent' ? green('sent   ') : red(c.outcome.padEnd(7))} ${`${c.type} #${c.channel}`.padEnd(14)} ${c.answer}`,
          ),
        ].join('\n'),
      );
    this.exitCode = out.ok ? ExitCode.OK : ExitCode.FAILED;
    return out;
  }
}

function findAlert(ws: Awaited<ReturnType<typeof openAndValidate>>['ws'], name: string): Resource<'Alert'> {
  const [a, b, ...rest] = name.split('/');
  if (rest.length || !a || b === '')
    throw new RsyncError(
      `"${name}" is not <name> or <customer>/<name>.`,
      ExitCode.USAGE,
      'For example: rsync alert test orders-down',
    );
  if (b !== undefined) {
    const found = ws.customers.get(a)?.alerts.get(b);
    if (found) return found;
  } else {
    const found = ws.alerts.get(a);
    if (found) return found;
    const own = [...ws.customers.values()].flatMap((c) => (c.alerts.has(a) ? [c.alerts.get(a)!] : []));
    if (own.length === 1) return own[0];
  }
  const known = [
    ...ws.alerts.keys(),
    ...[...ws.customers.values()].flatMap((c) => [...c.alerts.keys()].map((n) => `${c.name}/${n}`)),
  ];
  throw new RsyncError(
    `No Alert "${name}" in this workspace.`,
    ExitCode.USAGE,
    known.length ? `Known: ${known.join(', ')}.` : 'Declare one (kind: Alert) in rsync.yaml or a customer folder.',
  );
}
