/**
 * The checks of a Rollout document (schemas/rollout.schema.json covers its shape): its cohorts' names are unique,
 * the customers a cohort lists exist and are in no earlier cohort, a cohort names customers or a selector (not
 * both), only the last cohort takes "everyone else", and a cohort that would take no customer is said (a warning:
 * labels change). Which customers each cohort takes is engine/model/cohorts.ts, shared with `rsync rollout start`.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { suggest } from '../load/loader.js';
import type { Path } from '../load/yaml.js';
import type { RolloutCohort, RolloutSpec } from '../model/generated/index.js';
import type { Resource, Workspace } from '../model/workspace.js';
import { assignCohorts, customerLabels } from '../model/cohorts.js';

type At = (r: Resource, path: Path, d: Omit<Diagnostic, 'range' | 'address'>, key?: boolean) => void;

export function checkRollout(ws: Workspace, r: Resource<'Rollout'>, at: At): void {
  const spec = r.spec as Partial<RolloutSpec>;
  const cohorts: Partial<RolloutCohort>[] = Array.isArray(spec.cohorts) ? spec.cohorts : [];
  const seen = new Map<string, number>();
  const listedIn = new Map<string, string>();
  const known = [...ws.customers.keys()];
  const problem = (path: Path, summary: string, detail: string, code = 'rollout-cohort', severity = 'error') =>
    at(r, path, { severity: severity as Diagnostic['severity'], code, summary, detail });
  cohorts.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || typeof c.name !== 'string') return; // the schema says it
    const cohort = c.name;
    const here: Path = ['spec', 'cohorts', i];
    const first = seen.get(c.name);
    if (first !== undefined)
      problem(
        [...here, 'name'],
        `Two cohorts named "${c.name}"`,
        `Cohort ${first + 1} of this rollout is already called "${c.name}": \`rsync rollout abort --cohort\` names cohorts, so each needs its own name.`,
      );
    else seen.set(c.name, i);
    if (c.customers && c.selector)
      problem(
        [...here, 'selector'],
        `Cohort "${c.name}" has both customers and a selector`,
        'A cohort takes a list of customers or the customers with some labels. Split it into two cohorts, or keep one of the two.',
      );
    if (!c.customers && !c.selector && i < cohorts.length - 1)
      problem(
        [...here, 'name'],
        `Cohort "${c.name}" takes every remaining customer, but is not the last`,
        `With neither customers nor a selector a cohort takes every customer no earlier cohort took, so the cohorts after it would be empty. Move it to the end, or give it customers or a selector.`,
      );
    (Array.isArray(c.customers) ? c.customers : []).forEach((name, j) => {
      if (typeof name !== 'string') return;
      if (!ws.customers.has(name))
        problem(
          [...here, 'customers', j],
          `Unknown customer "${name}"`,
          `The workspace has the customers ${known.join(', ') || '(none)'}.${suggest(name, known)}`,
          'ref-unknown',
        );
      else if (listedIn.has(name))
        problem(
          [...here, 'customers', j],
          `Customer "${name}" is already in cohort "${listedIn.get(name)}"`,
          'A customer belongs to the first cohort that takes it: remove it from one of the two lists.',
        );
      else listedIn.set(name, cohort);
    });
  });
  const taken = assignCohorts(spec, customerLabels(ws));
  taken.forEach((t, i) => {
    const c = cohorts[i];
    if (t.customers.length || !c || typeof c.name !== 'string' || (!c.selector && !c.customers)) return;
    if (c.customers) return; // every listed customer was reported above
    problem(
      ['spec', 'cohorts', i, 'selector'],
      `Cohort "${c.name}" takes no customer`,
      `No customer that an earlier cohort did not take has the labels ${Object.entries(c.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(
          ', ',
        )}; the rollout would pass it by. Label the customers (metadata.labels in customer.yaml), or change the selector.`,
      'rollout-cohort',
      'warning',
    );
  });
}
