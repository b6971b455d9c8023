/**
 * The partner's branding on every page of the console. What apply stores of it is the deployed alerts' copy
 * (product name, partner, support link: plan/desired.ts `alertValue`); the logo, colours and footer are only in
 * rsync.yaml, so the working tree's rsync.yaml (when the console runs in the workspace) fills in the rest, and
 * rsync's own name stands in for a product name nobody declared.
 */
import type pg from 'pg';
import { declaredConsoleBrandingAt } from '../workspace/environment.js';
import type { ConsoleBranding } from './types.js';

export type { ConsoleBranding };

const COLOR = /^#[0-9a-fA-F]{3,8}$/;
const URL_OK = /^(https?:\/\/|mailto:|\/)/;

export async function consoleBranding(
  db: Pick<pg.Pool, 'query'>,
  env: string,
  root: string | undefined,
): Promise<ConsoleBranding> {
  const { rows } = await db.query<{ b: Record<string, unknown> | null }>(
    `SELECT spec->'effective'->'branding' AS b FROM rsync.resources WHERE env = $1 AND kind = 'alert'
      ORDER BY applied_at DESC LIMIT 1`,
    [env],
  );
  const deployed = rows[0]?.b ?? {};
  const declared = root ? await declaredConsoleBrandingAt(root).catch(() => ({})) : {};
  const pick = (k: string): string | undefined => {
    const v = (deployed as Record<string, unknown>)[k] ?? (declared as Record<string, unknown>)[k];
    return typeof v === 'string' && v ? v : undefined;
  };
  const url = (k: string) => {
    const v = pick(k);
    if (v && /^[^@\s]+@[^@\s]+$/.test(v)) return `mailto:${v}`;
    return v && URL_OK.test(v) ? v : undefined;
  };
  const color = pick('primaryColor');
  return {
    productName: pick('productName') ?? 'rsync console',
    partner: pick('partner'),
    logoUrl: url('logoUrl'),
    primaryColor: color && COLOR.test(color) ? color : '#334155',
    footer: pick('footer'),
    supportUrl: url('supportUrl'),
  };
}
