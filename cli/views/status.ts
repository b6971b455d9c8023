/** `rsync status` as text: one line per flow, then the environment's totals (also the demo's last step). */
import type { FlowStatus } from '../../engine/runtime/status.js';
import type { SyncState } from '../../engine/state/sync-state.js';
import { formatBudget } from '../../engine/runtime/sla.js';
import { formatDuration } from '../../engine/util/duration.js';
import { ago, table } from '../runtime.js';

export function renderStatus(env: string, status: FlowStatus[], workers: number, sync?: SyncState | null): string {
  const head = sync ? `${syncLine(env, sync)}\n\n` : '';
  if (!status.length) return `${head}No flows are deployed in ${env}. Apply them with \`rsync apply --env ${env}\`.`;
  const now = Date.now();
  const rows = status.map((s) => [
    `${s.customer}/${s.flow}`,
    String(s.revision),
    s.enabled ? s.trigger : `${s.trigger} (off)`,
    s.lastRun ? `${s.lastRun.status} ${ago(now - Date.parse(s.lastRun.at))}` : '-',
    s.lagMs === null ? '-' : s.lagMs < 1000 ? '<1s' : formatDuration(s.lagMs),
    s.freshnessMs === null ? '-' : formatDuration(s.freshnessMs),
    String(s.recordsLastHour),
    String(s.deadLetters),
    budgetCell(s),
    s.paused ? 'PAUSED' : s.quota ? 'QUOTA' : s.health,
  ]);
  const paused = status
    .filter((s) => s.paused)
    .map(
      (s) =>
        `PAUSED ${s.customer}/${s.flow} by ${s.paused!.by} since ${s.paused!.since}${s.paused!.reason ? `: ${s.paused!.reason}` : ''}`,
    );
  // One line per quota reached (a customer's records, a connection's calls), however many flows it stops.
  const quotas = [
    ...new Set(
      status
        .filter((s) => s.quota)
        .map((s) => `QUOTA ${s.quota!.of}: ${s.quota!.text} (${s.quota!.used.toLocaleString('en-US')} used today)`),
    ),
  ];
  const late = status.filter((s) => s.health === 'late' || s.health === 'failing').length;
  return [
    ...(head ? [head.trimEnd(), ''] : []),
    table(['FLOW', 'REV', 'TRIGGER', 'LAST RUN', 'LAG', 'SLA', 'LAST HOUR', 'DEAD', 'BUDGET LEFT', 'HEALTH'], rows),
    ...(paused.length ? ['', ...paused] : []),
    ...(quotas.length ? ['', ...quotas] : []),
    '',
    `${env}: ${status.length} flows, ${workers} live worker${workers === 1 ? '' : 's'}, ${late} late or failing, ${status.reduce((n, s) => n + s.deadLetters, 0)} open dead letters`,
  ].join('\n');
}

/** The month's error budget left: records (success rate), and the time budget of freshness when there is one. */
function budgetCell(s: FlowStatus): string {
  const { records, minutes } = s.budget;
  if (!records) return '-';
  const r = records.left < 0 ? `over by ${formatBudget(-records.left)}` : records.leftShare;
  return minutes ? `${r} / ${minutes.left < 0 ? 'over' : minutes.leftShare} time` : r;
}

/** The controller's verdict on the environment, as one line. */
export function syncLine(env: string, s: SyncState): string {
  const at = (s.seenCommit ?? '').slice(0, 12);
  return s.state === 'synced'
    ? `${env}: synced at ${at} (${s.branch}; checked ${s.checkedAt} by ${s.controller})`
    : `${env}: out of sync (${at} not applied: ${s.reason ?? 'unknown'}) (checked ${s.checkedAt} by ${s.controller})`;
}
