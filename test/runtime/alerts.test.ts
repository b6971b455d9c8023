/**
 * Alerts end to end on real PostgreSQL, against fakes of Slack, PagerDuty Events v2, an SMTP server (smtp-server,
 * AUTH checked) and a signed webhook receiver on 127.0.0.1 (test/helpers/alert-fakes.ts, each citing its vendor's
 * documentation). The deployed state is written as apply writes it (rsync.resources), SLA breaches as the SLA
 * evaluator records them (rsync.sla_events), runs and dead letters as the runtime does; the evaluator takes `now`
 * as a parameter, so an hour of evaluations, one a minute, runs in a second.
 */
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSecret } from '../../engine/connectors/secrets.js';
import { deliverDue, evaluateAlerts } from '../../engine/runtime/alerts/index.js';
import { deliveriesOf } from '../../engine/state/alerts.js';
import { connect, type Database } from '../../engine/state/db.js';
import { tryClaim, releaseClaim } from '../../engine/state/locks.js';
import { EVALUATION_LOCK } from '../../engine/runtime/alerts/evaluate.js';
import { fakePagerDuty, fakeReceiver, fakeSlack, fakeSmtp, listenLocal, mailText } from '../helpers/alert-fakes.js';
import { buildProblem, ROOT, runCli, show } from '../helpers/cli.js';
import { materialise } from '../helpers/broken.js';
import { applyWorkspace, runtimeWorkspace, SANDBOX_SYSTEMS, stockFlow } from '../helpers/runtime.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';

const ROUTING_KEY = '0123456789abcdef0123456789abcdef';
const SMTP_USER = 'alerts@acme.example';
const SMTP_PASSWORD = 'planted-smtp-password-91';
const HMAC_KEY = 'planted-hmac-key-5521';
/** A connection's secret, planted in an SLA event's cause and a run's error: no message may carry it. */
const PLANTED_SECRET = 'shpat_planted00secret00value00000001';
/** PII of a record the run dead-lettered (the policy names customer.lastName and customer.email). */
const PLANTED_NAME = 'Zyxplantedson';
const PLANTED_EMAIL = 'dana.planted@example.com';

let db: TestDatabase;
let database: Database;
let pool: pg.Pool;
let slack: Awaited<ReturnType<typeof fakeSlack>>;
let pd: Awaited<ReturnType<typeof fakePagerDuty>>;
let smtp: Awaited<ReturnType<typeof fakeSmtp>>;
let hook: Awaited<ReturnType<typeof fakeReceiver>>;

const BRAND = {
  productName: 'Acme Connect',
  partner: 'Acme Retail Integrations',
  supportUrl: 'https://acme.example/support',
};

function channels() {
  return [
    { slack: { url: { secretRef: 'env:TEST_ALERT_SLACK_URL' } } },
    { pagerduty: { routingKey: { secretRef: 'env:TEST_ALERT_PD_KEY' }, url: pd.enqueue } },
    {
      email: {
        host: '127.0.0.1',
        port: smtp.port,
        username: SMTP_USER,
        password: { secretRef: 'env:TEST_ALERT_SMTP_PASSWORD' },
        from: 'alerts@acme.example',
        to: ['ops@acme.example'],
      },
    },
    { webhook: { url: `${hook.url}/rsync`, secret: { secretRef: 'env:TEST_ALERT_HMAC' } } },
  ];
}

async function deploy(env: string, address: string, spec: Record<string, unknown>): Promise<void> {
  const [scope, kind, name] = address.split('/');
  await pool.query(
    `INSERT INTO rsync.resources (env, address, customer, kind, name, revision, content_hash, spec, applied_by)
     VALUES ($1, $2, $3, $4, $5, 1, 'h', $6, 'test')`,
    [env, address, scope === 'workspace' ? null : scope, kind, name, JSON.stringify(spec)],
  );
}

/** A customer's flow with its connections, the policy naming PII fields and an SLA, and an Alert on `channels`. */
async function deployEnv(env: string, alert: Record<string, unknown>, chans: unknown[] = channels()): Promise<void> {
  await deploy(env, 'northwind/connection/shopify', {
    kind: 'Connection',
    spec: { connector: 'shopify', settings: { accessToken: { secretRef: 'env:TEST_ALERT_SHOPIFY_TOKEN' } } },
  });
  await deploy(env, 'workspace/policy/standard', {
    kind: 'Policy',
    spec: { pii: { fields: ['customer.email', 'customer.lastName'], mask: true } },
  });
  await deploy(env, 'workspace/sla/gold', { kind: 'SLA', spec: { freshness: '10m', successRate: '99.9%' } });
  await deploy(env, 'northwind/flow/orders-to-erp', {
    kind: 'Flow',
    spec: {
      source: { connection: 'shopify', stream: 'orders' },
      target: { connection: 'netsuite', entity: 'salesOrder' },
    },
    effective: { policy: 'workspace/policy/standard', sla: 'workspace/sla/gold' },
  });
  await deploy(env, 'workspace/alert/ops', {
    kind: 'Alert',
    spec: { severity: 'critical', ...alert, channels: chans },
    effective: { branding: BRAND },
  });
}

/** Everything every channel received, as one text (the e-mails decoded). */
function everythingSent(): string {
  return [
    ...slack.received.map((r) => r.body),
    ...pd.received.map((r) => r.body),
    ...hook.received.map((r) => r.body),
    ...smtp.mails.map((m) => `${m.raw}\n${mailText(m.raw)}`),
  ].join('\n');
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listenLocal(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function resetFakes(): void {
  slack.received.length = 0;
  pd.received.length = 0;
  hook.received.length = 0;
  smtp.mails.length = 0;
}

beforeAll(async () => {
  db = await testDatabase('alerts');
  database = await connect(ROOT, { url: db.url });
  pool = database.pool;
  [slack, pd, smtp, hook] = await Promise.all([
    fakeSlack(),
    fakePagerDuty(ROUTING_KEY),
    fakeSmtp(SMTP_USER, SMTP_PASSWORD),
    fakeReceiver(HMAC_KEY),
  ]);
  process.env.TEST_ALERT_SLACK_URL = slack.hook;
  process.env.TEST_ALERT_PD_KEY = ROUTING_KEY;
  process.env.TEST_ALERT_SMTP_PASSWORD = SMTP_PASSWORD;
  process.env.TEST_ALERT_HMAC = HMAC_KEY;
  process.env.TEST_ALERT_SHOPIFY_TOKEN = PLANTED_SECRET;
}, 60_000);

afterAll(async () => {
  await Promise.all([slack?.close(), pd?.close(), smtp?.close(), hook?.close()]);
  await database?.close();
  await db?.drop();
});

describe('an SLA breach that lasts an hour', () => {
  const ENV = 'hour';
  const T0 = new Date('2026-11-03T10:00:00Z');
  const at = (min: number) => new Date(T0.getTime() + min * 60_000);

  it('sends exactly one trigger and one resolution to each channel, branded, without the planted secret or PII', async () => {
    resetFakes();
    await deployEnv(ENV, { when: { slaBreached: true } });
    await pool.query(
      `INSERT INTO rsync.sla_events (env, address, customer, sla, objective, target, started_at, ended_at, worst, cause)
       VALUES ($1, 'northwind/flow/orders-to-erp', 'northwind', 'gold', 'freshness', '10m', $2, $3, '47m', $4)`,
      [ENV, at(5), at(65), `target stalled: netsuite 503 for ${PLANTED_EMAIL}; token ${PLANTED_SECRET}`],
    );
    let opened = 0;
    let resolved = 0;
    for (let m = 0; m <= 70; m++) {
      const r = await evaluateAlerts(pool, { now: at(m), envs: [ENV] });
      expect(r.evaluated).toBe(true);
      opened += r.opened.length;
      resolved += r.resolved.length;
      if (r.opened.length) expect(m).toBe(5);
      if (r.resolved.length) expect(m).toBe(65);
      await deliverDue(pool, ENV);
    }
    expect([opened, resolved]).toEqual([1, 1]);

    // Slack: a trigger then a resolution, the product name and the support link in each.
    expect(slack.received.map((r) => r.json?.text)).toEqual([
      expect.stringContaining('[Acme Connect] hour: SLA gold breached: freshness of northwind/orders-to-erp'),
      expect.stringContaining('[Acme Connect] hour: Resolved after 1h: SLA gold breached'),
    ]);
    expect(JSON.stringify(slack.received[0].json?.blocks)).toContain('<https://acme.example/support|Support>');
    // PagerDuty: trigger and resolve of one dedup_key; the trigger carries a valid Events v2 payload.
    expect(pd.received.map((r) => r.json?.event_action)).toEqual(['trigger', 'resolve']);
    expect(pd.received[1].json?.dedup_key).toBe(pd.received[0].json?.dedup_key);
    expect(pd.received[0].json?.payload).toMatchObject({
      severity: 'critical',
      source: 'Acme Connect/hour',
      class: 'slaBreached',
    });
    // E-mail: two mails, after AUTH with the SMTP password.
    expect(smtp.mails.map((m) => [m.user, m.to])).toEqual([
      [SMTP_USER, ['ops@acme.example']],
      [SMTP_USER, ['ops@acme.example']],
    ]);
    expect(mailText(smtp.mails[0].raw)).toContain('Help: https://acme.example/support');
    expect(mailText(smtp.mails[1].raw)).toMatch(/Subject: \[Acme Connect\] hour: Resolved after 1h/);
    // The webhook: two signed JSON messages.
    expect(hook.received.map((r) => [r.json?.event, r.headers['x-rsync-event']])).toEqual([
      ['trigger', 'trigger'],
      ['resolve', 'resolve'],
    ]);

    const sent = everythingSent();
    expect(sent).toContain('worst 47m');
    for (const planted of [PLANTED_SECRET, PLANTED_EMAIL, SMTP_PASSWORD, HMAC_KEY, slack.hook])
      expect(sent).not.toContain(planted);
    expect(slack.received.map((r) => r.body).join()).not.toContain(ROUTING_KEY);

    const rows = await deliveriesOf(pool, ENV);
    expect(rows.map((d) => `${d.type} ${d.action} ${d.status} ${d.attempts}`)).toEqual([
      'slack trigger sent 1',
      'pagerduty trigger sent 1',
      'email trigger sent 1',
      'webhook trigger sent 1',
      'slack resolve sent 1',
      'pagerduty resolve sent 1',
      'email resolve sent 1',
      'webhook resolve sent 1',
    ]);
    expect(rows[0].answer).toBe('200 ok');
    expect(rows[1].answer).toMatch(/^202 .*"Event processed"/);
    expect(rows[2].answer).toMatch(/^250 /);
    // Nothing of a secret is stored either: the deliveries keep references.
    expect(JSON.stringify(rows)).not.toContain(ROUTING_KEY);
  });
});

describe('a failed run, and a channel that throttles', () => {
  const ENV = 'retry';

  it('a 429 with Retry-After gets the message on a later attempt, recorded; PII and secrets of the run are scrubbed', async () => {
    resetFakes();
    resolveSecret({ secretRef: 'env:TEST_ALERT_SHOPIFY_TOKEN' }); // as the connector did when it ran
    await deployEnv(ENV, { when: { runFailed: true, authFailed: true }, flows: ['orders-to-erp'] });
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at, finished_at, error, log)
       VALUES ($1, 'northwind/flow/orders-to-erp', 1, 'schedule', 'failed', 'w', now() - interval '2 minutes', now() - interval '1 minute', $2,
               '[{"event": "error", "kind": "auth", "message": "x"}]') RETURNING id`,
      [ENV, `netsuite 401: customer "${PLANTED_NAME}" (${PLANTED_EMAIL}) refused with ${PLANTED_SECRET}`],
    );
    await pool.query(
      `INSERT INTO rsync.dead_letters (env, address, customer, revision, run_id, key, stage, error, payload, replay)
       VALUES ($1, 'northwind/flow/orders-to-erp', 'northwind', 1, $2, 'k1', 'write', 'refused', '{}', $3)`,
      [ENV, rows[0].id, JSON.stringify({ customer: { last_name: PLANTED_NAME, email: PLANTED_EMAIL } })],
    );
    slack.throttle(2, 1); // the trigger of each of the two incidents
    const r = await evaluateAlerts(pool, { envs: [ENV] });
    expect(r.opened.map((i) => i.condition).sort()).toEqual(['authFailed', 'runFailed']);
    expect(r.opened.find((i) => i.condition === 'authFailed')?.summary).toBe(
      'Authentication failed: northwind/orders-to-erp (connections shopify → netsuite)',
    );

    const first = await deliverDue(pool, ENV);
    expect(first.filter((d) => d.answer.outcome === 'retry').map((d) => [d.delivery.type, d.answer.answer])).toEqual([
      ['slack', '429 rate_limited (Retry-After 1)'],
      ['slack', '429 rate_limited (Retry-After 1)'],
    ]);
    expect(slack.received).toHaveLength(0);
    expect(await deliverDue(pool, ENV)).toEqual([]); // not before Retry-After
    await new Promise((done) => setTimeout(done, 1100));
    const again = await deliverDue(pool, ENV);
    expect(again.map((d) => [d.delivery.type, d.answer.outcome])).toEqual([
      ['slack', 'sent'],
      ['slack', 'sent'],
    ]);
    expect(slack.received).toHaveLength(2);
    const slackRows = (await deliveriesOf(pool, ENV)).filter((d) => d.type === 'slack');
    expect(slackRows.map((d) => [d.status, d.attempts, d.log.map((l) => l.answer)])).toEqual([
      ['sent', 2, ['429 rate_limited (Retry-After 1)', '200 ok']],
      ['sent', 2, ['429 rate_limited (Retry-After 1)', '200 ok']],
    ]);

    const sent = everythingSent();
    expect(sent).toContain('netsuite 401: customer');
    for (const planted of [PLANTED_NAME, PLANTED_EMAIL, PLANTED_SECRET]) expect(sent).not.toContain(planted);

    // Evaluated again while the run is still the last: nothing new is sent.
    expect((await evaluateAlerts(pool, { envs: [ENV] })).opened).toEqual([]);
  });
});

describe('dead letters in a window, the error budget, and no worker', () => {
  const ENV = 'counts';

  it('each starts and ends with what it counts', async () => {
    resetFakes();
    await deployEnv(
      ENV,
      {
        when: {
          deadLetters: { over: 10, window: '1h' },
          budgetBurn: { rate: 14.4, window: '1h' },
          noWorker: { for: '2m' },
        },
      },
      [{ webhook: { url: `${hook.url}/rsync`, secret: { secretRef: 'env:TEST_ALERT_HMAC' } } }],
    );
    const now = new Date('2026-11-10T12:00:00Z');
    const before = new Date(now.getTime() - 10 * 60_000);
    await pool.query(
      `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at, finished_at, read, written, dead)
       VALUES ($1, 'northwind/flow/orders-to-erp', 1, 'schedule', 'succeeded', 'w', $2, $2, 100, 88, 12)`,
      [ENV, before],
    );
    await pool.query(
      `INSERT INTO rsync.dead_letters (env, address, customer, revision, key, stage, error, payload, created_at)
       SELECT $1, 'northwind/flow/orders-to-erp', 'northwind', 1, 'k' || n, 'write', 'refused', '{}', $2
         FROM generate_series(1, 12) n`,
      [ENV, before],
    );
    const first = await evaluateAlerts(pool, { now, envs: [ENV] });
    expect(first.opened.map((i) => i.summary).sort()).toEqual([
      'Dead letters: northwind/orders-to-erp dead-lettered 12 records in 1h (more than 10)',
      'Error budget burning 120.0× its pace: northwind/orders-to-erp',
      'No worker alive in counts',
    ]);
    expect(first.opened.find((i) => i.condition === 'budgetBurn')?.detail).toBe(
      '12 of 100 records dead-lettered in 1h against a success rate of 99.9% (alerting above 14.4×).',
    );
    const later = await evaluateAlerts(pool, { now: new Date(now.getTime() + 2 * 3600_000), envs: [ENV] });
    expect([later.opened, later.resolved.map((i) => i.condition).sort()]).toEqual([[], ['budgetBurn', 'deadLetters']]);
    // A resolve waits for its trigger to the same channel: the first pass sends the triggers, the next the resolves.
    expect((await deliverDue(pool, ENV)).map((d) => d.delivery.action)).toEqual(['trigger', 'trigger', 'trigger']);
    expect((await deliverDue(pool, ENV)).map((d) => d.delivery.action)).toEqual(['resolve', 'resolve']);
    expect(hook.received.map((r) => `${r.json?.event} ${r.json?.condition}`).sort()).toEqual([
      'resolve budgetBurn',
      'resolve deadLetters',
      'trigger budgetBurn',
      'trigger deadLetters',
      'trigger noWorker',
    ]);
  });
});

describe('refusals and failures of the channels', () => {
  const ENV = 'refused';

  it('Slack no_service and a PagerDuty 400 fail at once; a refused connection is tried again later', async () => {
    resetFakes();
    process.env.TEST_ALERT_SLACK_WRONG = `${slack.url}/services/T0FAKE001/B0FAKE001/revoked`;
    process.env.TEST_ALERT_PD_WRONG = 'ffffffffffffffffffffffffffffffff';
    await deployEnv(ENV, { when: { runStuck: { after: '30m' } } }, [
      { slack: { url: { secretRef: 'env:TEST_ALERT_SLACK_WRONG' } } },
      { pagerduty: { routingKey: { secretRef: 'env:TEST_ALERT_PD_WRONG' }, url: pd.enqueue } },
      { webhook: { url: `http://127.0.0.1:${await closedPort()}/closed` } },
    ]);
    await pool.query(
      `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, started_at)
       VALUES ($1, 'northwind/flow/orders-to-erp', 1, 'manual', 'running', 'w', now() - interval '2 hours')`,
      [ENV],
    );
    const r = await evaluateAlerts(pool, { envs: [ENV] });
    expect(r.opened.map((i) => i.summary)).toEqual(['Run stuck: northwind/orders-to-erp has run for over 30m']);
    await deliverDue(pool, ENV);
    const rows = await deliveriesOf(pool, ENV);
    expect(rows.map((d) => [d.type, d.status, d.attempts, d.answer])).toEqual([
      ['slack', 'failed', 1, '404 no_service'],
      ['pagerduty', 'failed', 1, expect.stringMatching(/^400 .*Invalid routing key/)],
      ['webhook', 'pending', 1, 'ECONNREFUSED'],
    ]);
  });

  it('the fakes refuse what their vendors refuse', async () => {
    const post = (url: string, body: string) =>
      fetch(url, { method: 'POST', body }).then(async (r) => `${r.status} ${await r.text()}`);
    expect(await post(slack.hook, 'not json')).toBe('400 invalid_payload');
    expect(await post(slack.hook, '{}')).toBe('400 no_text');
    expect(await post(`${slack.url}/services/T/B/other`, '{"text":"x"}')).toBe('404 no_service');
    expect(await post(pd.enqueue, JSON.stringify({ routing_key: ROUTING_KEY, event_action: 'trigger' }))).toMatch(
      /^400 .*payload\.summary/,
    );
    expect(await post(`${hook.url}/rsync`, '{}')).toBe('401 bad signature');
  });

  it('one evaluator at a time: a second one skips its turn while the lock is held', async () => {
    const other = await pool.connect();
    try {
      expect(await tryClaim(other, EVALUATION_LOCK)).toBe(true);
      expect((await evaluateAlerts(pool, { envs: [ENV] })).evaluated).toBe(false);
      await releaseClaim(other, EVALUATION_LOCK);
      expect((await evaluateAlerts(pool, { envs: [ENV] })).evaluated).toBe(true);
    } finally {
      other.release();
    }
  });
});

describe('rsync alert test (the built CLI)', () => {
  it("sends a sample through each channel of a customer's alert and prints each answer; a refusal exits 1", async () => {
    const problem = buildProblem(['cli/commands/alert/test.ts']);
    if (problem) throw new Error(problem);
    resetFakes();
    const dir = materialise('_baseline');
    try {
      writeFileSync(
        path.join(dir, 'integrations/northwind/alerts.yaml'),
        `apiVersion: rsync/v1
kind: Alert
metadata: { name: ops }
spec:
  when: { runFailed: true }
  channels:
    - slack: { url: { secretRef: env:TEST_ALERT_SLACK_URL } }
    - pagerduty: { routingKey: { secretRef: env:TEST_ALERT_PD_KEY }, url: "${pd.enqueue}" }
    - email:
        host: 127.0.0.1
        port: ${smtp.port}
        username: ${SMTP_USER}
        password: { secretRef: env:TEST_ALERT_SMTP_PASSWORD }
        from: alerts@acme.example
        to: [ops@acme.example]
    - webhook: { url: "${hook.url}/rsync", secret: { secretRef: env:TEST_ALERT_HMAC } }
`,
      );
      const env = {
        TEST_ALERT_SLACK_URL: slack.hook,
        TEST_ALERT_PD_KEY: ROUTING_KEY,
        TEST_ALERT_SMTP_PASSWORD: SMTP_PASSWORD,
        TEST_ALERT_HMAC: HMAC_KEY,
      };
      const ok = await runCli(['alert', 'test', 'ops', '--env', 'staging', '--json'], dir, { actor: 'test', env });
      expect(ok.status, show(ok)).toBe(0);
      const out = JSON.parse(ok.stdout) as {
        alert: string;
        ok: boolean;
        channels: { type: string; outcome: string; answer: string }[];
      };
      expect([out.alert, out.ok]).toEqual(['northwind/alert/ops', true]);
      expect(out.channels.map((c) => [c.type, c.outcome, c.answer.split(' ')[0]])).toEqual([
        ['slack', 'sent', '200'],
        ['pagerduty', 'sent', '202'],
        ['email', 'sent', '250'],
        ['webhook', 'sent', '204'],
      ]);
      expect(slack.received[0].json?.text).toContain('staging: Test: ops works');
      expect(pd.received.map((r) => r.json?.event_action)).toEqual(['trigger', 'resolve']);
      expect(hook.received[0].json?.event).toBe('test');
      expect(smtp.mails).toHaveLength(1);

      const bad = await runCli(['alert', 'test', 'northwind/ops', '--env', 'staging'], dir, {
        actor: 'test',
        env: { ...env, TEST_ALERT_SMTP_PASSWORD: 'wrong-password' },
      });
      expect(bad.status, show(bad)).toBe(1);
      expect(bad.stdout).toMatch(/refused\s+email #2\s+535 /);
      expect(bad.stdout + bad.stderr).not.toContain('wrong-password');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('an applied Alert, in a worker', () => {
  it('apply deploys it with its branding; the worker evaluates it on its own and the message arrives', async () => {
    const problem = buildProblem(['cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    resetFakes();
    const dir = runtimeWorkspace('rsync-alerts-', { connections: SANDBOX_SYSTEMS, flows: [stockFlow()] });
    let worker: RsyncWorker | undefined;
    try {
      writeFileSync(
        path.join(dir, 'integrations/acme/alerts.yaml'),
        `apiVersion: rsync/v1
kind: Alert
metadata: { name: stock-failing }
spec:
  when: { runFailed: true }
  channels:
    - webhook: { url: "${hook.url}/rsync", secret: { secretRef: env:TEST_ALERT_HMAC } }
`,
      );
      await applyWorkspace(dir, db.url);
      const { rows } = await pool.query<{ spec: { effective: unknown } }>(
        `SELECT spec FROM rsync.resources WHERE env = 'staging' AND address = 'acme/alert/stock-failing'`,
      );
      expect(rows[0].spec.effective).toEqual({ branding: { partner: 'Acme Retail Integrations' } });
      await pool.query(
        `INSERT INTO rsync.runs (env, address, revision, trigger, status, worker, finished_at, error)
         VALUES ('staging', 'acme/flow/stock', 1, 'manual', 'failed', 'w', now(), 'erp: 503 Service Unavailable')`,
      );
      worker = new RsyncWorker({ pool, url: db.url, env: 'staging', port: null, threads: 1, alertIntervalMs: 200 });
      await worker.start();
      const deadline = Date.now() + 10_000;
      while (!hook.received.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(hook.received.map((r) => r.json?.title)).toEqual(['[rsync] staging: Run failed: acme/stock']);
      expect(hook.received[0].json?.detail).toMatch(/: erp: 503 Service Unavailable$/);
    } finally {
      await worker?.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
