/**
 * Shopify's Admin API versions: one released each quarter (YYYY-01, -04, -07, -10), each stable version supported
 * for at least 12 months from its release; a request to a version past that is served by the oldest supported
 * version instead (https://shopify.dev/docs/api/usage/versioning). Used by the connection check (connector.ts) and by
 * `rsync validate` (spec.ts `warnings`).
 */

/** When `version` stops being supported, and a warning when that is past or within 90 days of `today`. */
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
