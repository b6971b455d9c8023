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

/** rsync.yaml's branding and partner, each field a string or left out (validation reports the wrong types). */
function declared(ws: Workspace): { branding: Record<string, string>; partner: Record<string, string> } {
  const spec = ws.settings?.spec ?? {};
  const strings = (v: unknown) =>
    Object.fromEntries(
      Object.entries(isObject(v) ? v : {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  return { branding: strings(spec.branding), partner: strings(spec.partner) };
}

/** The branding rsync.yaml declares; a field of the wrong type is left out (validation reports it). */
export function brandingOf(ws: Workspace): Branding {
  const { branding: b, partner: p } = declared(ws);
  return {
    productName: b.productName,
    logoUrl: b.logoUrl,
    primaryColor: b.primaryColor,
    footer: b.footer,
    partner: p.name,
  };
}

/** What an alert's messages are signed with: the product name, the partner and where to get help. */
export interface AlertBranding {
  productName?: string;
  partner?: string;
  /** branding.supportUrl, else the partner's support address or URL (partner.support). */
  supportUrl?: string;
}

export function alertBrandingOf(ws: Workspace): AlertBranding {
  const { branding: b, partner: p } = declared(ws);
  return { productName: b.productName, partner: p.name, supportUrl: b.supportUrl ?? p.support };
}
