/**
 * Whose secret a reference names. rsync.yaml declares a naming rule per backend (`spec.secrets.scopes`):
 *
 *   scopes:
 *     customer: { env: "{CUSTOMER}_*", file: "{customer}/", vault: "customers/{customer}/" }
 *     partner:  { env: "ACME_*", vault: "partner/" }
 *
 * A pattern is matched against the whole name after the scheme (`#field` of a manager's reference left out): `*` is
 * any run of characters, a trailing `/` is the folder and everything under it, `{customer}` is the customer's name as
 * written and `{CUSTOMER}` in upper snake case (big-box: BIG_BOX). A customer's documents may reference only names
 * that match its `customer` patterns; a partner-wide one (rsync.yaml's, or a connection with `secretScope: partner`)
 * never a name of any customer's scope, and only the `partner` patterns where they are declared. With no `scopes`,
 * nothing is checked here (the rule is the partner's to declare). Whatever the scopes, a manager's reference needs
 * that manager configured (`spec.secrets.vault`, …).
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { declaredSecretsSettings, parseSecretRef } from '../model/secret-ref.js';
import { allResources, type Resource, type Workspace } from '../model/workspace.js';
import { findSecretRefs } from './secrets.js';

type Path = (string | number)[];

export interface ScopeFinding {
  resource: Resource;
  path: Path;
  diagnostic: Omit<Diagnostic, 'range' | 'address'>;
}

/** `big-box` → `BIG_BOX`: a customer's name as it appears in environment variable names. */
export const upperSnake = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

/** A scope pattern with a customer's name filled in, as the reader would write it. */
export function fillPattern(pattern: string, customer: string): string {
  return pattern.replaceAll('{CUSTOMER}', upperSnake(customer)).replaceAll('{customer}', customer);
}

/** Whether `name` lies in `pattern` (filled in already). */
export function inPattern(pattern: string, name: string): boolean {
  const p = pattern.endsWith('/') ? `${pattern}*` : pattern;
  const re = p
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`, 's').test(name);
}

/** The backend and the name a reference's scope is decided on. */
function scoped(ref: string): { scheme: string; name: string } | undefined {
  const p = parseSecretRef(ref);
  if (p?.kind === 'env') return { scheme: 'env', name: p.name };
  if (p?.kind === 'file') return { scheme: 'file', name: p.path };
  if (p?.kind === 'remote') return { scheme: p.scheme, name: p.name.replace(/#.*$/s, '') };
  return undefined;
}

/** The references of a resource as written (template instances: as resolved), with the path to each. */
function refsOf(r: Resource): { path: Path; ref: string }[] {
  const raw = r.template ? { spec: r.spec } : r.origin.doc.value;
  const refs = findSecretRefs(raw);
  // A secret manager's own credentials (spec.secrets.vault.token…) are the machine's, not a tenant's.
  return r.kind === 'Workspace' ? refs.filter((x) => !(x.path[0] === 'spec' && x.path[1] === 'secrets')) : refs;
}

const isPartnerWide = (r: Resource) =>
  r.customer === undefined ||
  (r.kind === 'Connection' && (r.spec as { secretScope?: unknown }).secretScope === 'partner');

export function checkSecretScopes(ws: Workspace): ScopeFinding[] {
  const settings = declaredSecretsSettings(ws);
  const customerScope = (settings?.scopes?.customer ?? {}) as Record<string, string | undefined>;
  const partnerScope = (settings?.scopes?.partner ?? {}) as Record<string, string | undefined>;
  const declared = settings?.scopes !== undefined;
  const customers = [...ws.customers.keys()];
  const owner = (scheme: string, name: string) => {
    const pattern = customerScope[scheme];
    return pattern === undefined ? undefined : customers.find((c) => inPattern(fillPattern(pattern, c), name));
  };
  const out: ScopeFinding[] = [];
  for (const r of allResources(ws)) {
    if (r.kind === 'Template' || r.kind === 'MappingTest') continue;
    for (const { path, ref } of refsOf(r)) {
      const s = scoped(ref);
      if (!s) continue;
      const at = [...path, 'secretRef'];
      const report = (summary: string, detail: string, code = 'secret-scope') =>
        out.push({ resource: r, path: at, diagnostic: { severity: 'error', code, summary, detail } });
      if (s.scheme !== 'env' && s.scheme !== 'file' && !(settings as Record<string, unknown> | undefined)?.[s.scheme]) {
        report(
          `Secret "${ref}" is in ${s.scheme}, but rsync.yaml configures no ${s.scheme} secret manager`,
          `Declare it in rsync.yaml under spec.secrets.${s.scheme} (${MANAGER_EXAMPLE[s.scheme] ?? 'its settings'}), or reference the secret as env:NAME or file:NAME.`,
          'secret-manager-unconfigured',
        );
        continue;
      }
      if (!declared) continue;
      const partnerWide = isPartnerWide(r);
      const other = owner(s.scheme, s.name);
      if (!partnerWide) {
        const c = r.customer!;
        const pattern = customerScope[s.scheme];
        if (pattern === undefined) {
          report(
            `Secret "${ref}" cannot be scoped to ${c}: rsync.yaml declares no ${s.scheme} pattern for a customer's secrets`,
            `Declare how ${s.scheme} secrets of a customer are named in rsync.yaml (spec.secrets.scopes.customer.${s.scheme}, e.g. "${EXAMPLE[s.scheme] ?? '{customer}/*'}"), or reference one of ${c}'s secrets by a backend that has a pattern.`,
          );
          continue;
        }
        const own = fillPattern(pattern, c);
        if (inPattern(own, s.name)) continue;
        report(
          other
            ? `Secret "${ref}" is ${other}'s, not ${c}'s: a customer's connections reference only its own secrets`
            : `Secret "${ref}" is outside ${c}'s secrets (${s.scheme} names matching "${own}")`,
          `Name one of ${c}'s secrets (${s.scheme}:${own.endsWith('/') ? `${own}…` : own}), storing the credential there for ${c}${partnerScope[s.scheme] ? `; or, for a system the partner runs for every customer, set \`secretScope: partner\` on the connection and name a partner secret (${s.scheme}:${partnerScope[s.scheme]})` : `; or, for a system the partner runs for every customer, set \`secretScope: partner\` on the connection`}.`,
        );
        continue;
      }
      const where = r.customer ? `connection ${r.name} has secretScope: partner` : 'rsync.yaml is partner-wide';
      if (other) {
        report(
          `Secret "${ref}" is ${other}'s: a partner-wide document cannot reference a customer's secret`,
          `The ${where}: name a partner secret${partnerScope[s.scheme] ? ` (${s.scheme}:${partnerScope[s.scheme]})` : ''}, or move what uses ${other}'s secret into integrations/${other}/.`,
        );
        continue;
      }
      const pattern = partnerScope[s.scheme];
      if (pattern !== undefined && !inPattern(pattern, s.name))
        report(
          `Secret "${ref}" is outside the partner's secrets (${s.scheme} names matching "${pattern}")`,
          `The ${where}: name a partner secret (${s.scheme}:${pattern}), or widen spec.secrets.scopes.partner.${s.scheme} in rsync.yaml.`,
        );
    }
  }
  return out;
}

const EXAMPLE: Record<string, string> = {
  env: '{CUSTOMER}_*',
  file: '{customer}/',
  vault: 'customers/{customer}/',
  aws: 'customers/{customer}/',
  gcp: '{customer}-*',
};

const MANAGER_EXAMPLE: Record<string, string> = {
  vault: '`vault: { address: https://vault.acme.internal:8200, token: { secretRef: "env:VAULT_TOKEN" } }`',
  aws: '`aws: { region: eu-west-1 }`',
  gcp: '`gcp: { project: acme-integrations }`',
};
