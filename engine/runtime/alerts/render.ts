/**
 * An incident as a message, white-labelled with the partner's branding (product name, support link), and that
 * message in each channel's own shape: Slack's blocks, PagerDuty's Events API v2 event, an e-mail, the webhook's
 * JSON. The message is made once, when the incident starts or ends, and stored with each delivery: it holds no
 * secret (channels' secrets are resolved only when sending) and no PII (conditions.ts scrubs what it quotes).
 */
import { createHash } from 'node:crypto';
import { formatDuration } from '../../util/duration.js';
import type { AlertDef } from './model.js';

export type AlertEvent = 'trigger' | 'resolve' | 'test';

export interface AlertMessage {
  version: 1;
  event: AlertEvent;
  product: string;
  partner?: string;
  supportUrl?: string;
  env: string;
  /** The Alert's address. */
  alert: string;
  customer: string | null;
  condition: string;
  subject: string;
  severity: AlertDef['severity'];
  /** PagerDuty's dedup_key, the same for an incident's trigger and resolve. */
  dedupKey: string;
  title: string;
  summary: string;
  detail?: string;
  startedAt: string;
  endedAt?: string;
}

export interface IncidentFacts {
  key: string;
  condition: string;
  subject: string;
  customer: string | null;
  summary: string;
  detail?: string | null;
  startedAt: Date;
  endedAt?: Date;
}

/** PagerDuty keeps at most 255 characters of a dedup_key: longer ones are hashed. */
function dedupKeyOf(env: string, alert: string, key: string): string {
  const k = `rsync:${env}:${alert}:${key}`;
  return k.length <= 255 ? k : `rsync:${createHash('sha256').update(k).digest('hex')}`;
}

export function messageOf(alert: AlertDef, i: IncidentFacts, event: AlertEvent): AlertMessage {
  const product = alert.brand.productName;
  const lasted = i.endedAt ? formatDuration(i.endedAt.getTime() - i.startedAt.getTime()) : undefined;
  const head = event === 'resolve' ? `Resolved after ${lasted}: ` : event === 'test' ? 'Test: ' : '';
  return {
    version: 1,
    event,
    product,
    partner: alert.brand.partner,
    supportUrl: alert.brand.supportUrl,
    env: alert.env,
    alert: alert.address,
    customer: i.customer,
    condition: i.condition,
    subject: i.subject,
    severity: alert.severity,
    dedupKey: dedupKeyOf(alert.env, alert.address, i.key),
    title: `[${product}] ${alert.env}: ${head}${i.summary}`,
    summary: i.summary,
    detail: i.detail ?? undefined,
    startedAt: i.startedAt.toISOString(),
    endedAt: i.endedAt?.toISOString(),
  };
}

/** A message of each condition for `rsync alert test`: made-up facts, clearly a test. */
export function sampleMessage(alert: AlertDef, now = new Date()): AlertMessage {
  return messageOf(
    alert,
    {
      key: `test:${now.getTime()}`,
      condition: 'test',
      subject: alert.address,
      customer: alert.customer ?? null,
      summary: `${alert.name} works: this is a test message from ${alert.brand.productName}`,
      detail: `Sent by rsync alert test. A real message names the flow, what holds, since when, and how to look into it.`,
      startedAt: now,
    },
    'test',
  );
}

/** Plain text: the detail, when it started (and ended), and where to get help. */
export function plainText(m: AlertMessage): string {
  return [
    m.summary,
    m.detail,
    `Environment ${m.env}${m.customer ? `, customer ${m.customer}` : ''}; alert ${m.alert}; severity ${m.severity}.`,
    m.endedAt ? `Started ${m.startedAt}, ended ${m.endedAt}.` : `Started ${m.startedAt}.`,
    m.supportUrl ? `Help: ${m.supportUrl}` : undefined,
    `— ${m.product}${m.partner && m.partner !== m.product ? `, ${m.partner}` : ''}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** Slack's mrkdwn: &, < and > are control characters and must be escaped. */
const mrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const html = (s: string) => mrkdwn(s).replace(/"/g, '&quot;');

/** Slack incoming webhook: `text` (the notification's fallback) and blocks. */
export function slackBody(m: AlertMessage): Record<string, unknown> {
  const icon =
    m.event === 'resolve' ? ':white_check_mark:' : m.event === 'test' ? ':information_source:' : ':rotating_light:';
  const link = m.supportUrl
    ? ` · <${m.supportUrl.startsWith('mailto:') || /^https?:/.test(m.supportUrl) ? m.supportUrl : `mailto:${m.supportUrl}`}|Support>`
    : '';
  return {
    text: `${icon} ${mrkdwn(m.title)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: m.title.slice(0, 150) } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: mrkdwn([m.detail ?? m.summary].join('\n')).slice(0, 3000) },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${mrkdwn(m.product)} · ${m.env}${m.customer ? ` · ${mrkdwn(m.customer)}` : ''} · ${m.severity} · since ${m.startedAt}${link}`,
          },
        ],
      },
    ],
  };
}

/** PagerDuty Events API v2: a trigger with the incident's facts, or a resolve of the same dedup_key. */
export function pagerDutyBody(m: AlertMessage, routingKey: string): Record<string, unknown> {
  if (m.event === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key: m.dedupKey };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: m.dedupKey,
    payload: {
      summary: m.title.slice(0, 1024),
      source: `${m.product}/${m.env}`,
      severity: m.severity,
      timestamp: m.startedAt,
      component: m.subject,
      group: m.customer ?? m.env,
      class: m.condition,
      custom_details: { detail: m.detail, alert: m.alert, env: m.env, customer: m.customer, support: m.supportUrl },
    },
    client: m.product,
    ...(m.supportUrl && /^https?:\/\//.test(m.supportUrl) ? { client_url: m.supportUrl } : {}),
  };
}

export function emailContent(m: AlertMessage): { subject: string; text: string; html: string } {
  const text = plainText(m);
  return {
    subject: m.title,
    text,
    html: `<!doctype html><html><body style="font-family:sans-serif"><h2>${html(m.title)}</h2>${text
      .split('\n')
      .slice(1)
      .map((l) => `<p>${html(l)}</p>`)
      .join('')}</body></html>`,
  };
}
