/**
 * Shopify's Admin API versions and their support window, for `check` (connector.ts) and for `rsync validate`'s
 * warning of a pinned version past it (spec.ts `warnings`).
 */
import type { SettingsWarning } from '../spec.js';

/**
 * How long an Admin API version is supported: Shopify releases one each quarter (YYYY-01, -04, -07, -10) and supports
 * each stable version for at least 12 months from its release (https://shopify.dev/docs/api/usage/versioning);
 * past that, requests are served by the oldest supported version instead. A warning when it has ended or ends
 * within 90 days.
 */
export function apiVersionSupport(
  version: string,
  today: Date = new Date(),
): { version: string; supportedUntil?: string; warning?: string } {
  const m = /^(\d{4})-(01|04|07|10)$/.exec(version);
  if (!m) return { version, warning: `${version} is not a Shopify API version (YYYY-01, -04, -07 or -10)` };
  const until = new Date(Date.UTC(Number(m[1]) + 1, Number(m[2]) - 1, 1));
  const supportedUntil = until.toISOString().slice(0, 10);
  const left = until.getTime() - today.getTime();
  if (left <= 0)
    return {
      version,
      supportedUntil,
      warning: `Admin API ${version} is past its 12 months of support (since ${supportedUntil}): Shopify answers with its oldest supported version instead; raise settings.apiVersion`,
    };
  if (left < 90 * 86_400_000)
    return {
      version,
      supportedUntil,
      warning: `Admin API ${version} is supported until ${supportedUntil}: raise settings.apiVersion before then`,
    };
  return { version, supportedUntil };
}

/** The validate warning of a connection's pinned apiVersion: past its support, or within 90 days of its end. */
export function apiVersionWarnings(settings: Record<string, unknown>, now: Date): SettingsWarning[] {
  if (typeof settings.apiVersion !== 'string') return [];
  const s = apiVersionSupport(settings.apiVersion, now);
  if (!s.warning) return [];
  return [
    {
      path: ['apiVersion'],
      summary: s.warning.split(':')[0],
      detail: `${s.warning}. Shopify releases a version each quarter and supports each for at least 12 months (https://shopify.dev/docs/api/usage/versioning); read its changelog for what changed, run \`rsync connection check\` against the new version, then raise settings.apiVersion.`,
    },
  ];
}
