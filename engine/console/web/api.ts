/** The console's API, as the pages call it: same origin, the session cookie, the CSRF token on every mutation. */

export type {
  ActionResultView,
  ApprovalView,
  ChangeEntry,
  DeadLetterView,
  ConsoleBranding as Branding,
  FlowPageView,
  JourneyFlow,
  Overview,
  OverviewRow,
  RunView,
} from '../types';
import type { ConsoleBranding as Branding } from '../types';

export interface Me {
  identity: { id: string; name: string; role: string; customer: string | null };
  csrf: string | null;
  env: string;
  may: { operate: boolean; payloads: boolean; approve: boolean };
}

let csrf: string | null = null;
export const setCsrf = (t: string | null) => {
  csrf = t;
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const r = await fetch(path, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  const json = (await r.json().catch(() => ({}))) as { error?: string; hint?: string };
  if (!r.ok) throw new ApiError(r.status, [json.error ?? r.statusText, json.hint].filter(Boolean).join(' — '));
  return json as T;
}

export function branding(): Branding {
  const el = document.getElementById('branding');
  try {
    return el?.textContent
      ? (JSON.parse(el.textContent) as Branding)
      : { productName: 'rsync console', primaryColor: '#334155' };
  } catch {
    return { productName: 'rsync console', primaryColor: '#334155' };
  }
}

/** Client-side navigation: the server answers every page path with the same page. */
export function go(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export const enc = encodeURIComponent;

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const ms = Date.now() - Date.parse(iso);
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m` : `${Math.round(m / 60)}h`;
}
