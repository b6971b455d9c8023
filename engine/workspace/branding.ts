/** The partner's branding from rsync.yaml: what white-labelled renderings (plan and diff Markdown) show. */
import type { Workspace } from '../model/workspace.js';
import { isObject } from '../util/merge.js';

export interface Branding {
  productName?: string;
  logoUrl?: string;
  primaryColor?: string;
  footer?: string;
  partner?: string;
}

/** The branding rsync.yaml declares; a field of the wrong type is left out (validation reports it). */
export function brandingOf(ws: Workspace): Branding {
  const spec = ws.settings?.spec ?? {};
  const b = isObject(spec.branding) ? spec.branding : {};
  const p = isObject(spec.partner) ? spec.partner : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    productName: str(b.productName),
    logoUrl: str(b.logoUrl),
    primaryColor: str(b.primaryColor),
    footer: str(b.footer),
    partner: str(p.name),
  };
}
