/**
 * `rsync init`: a new partner workspace in a folder, ready to validate and test as created.
 *
 *   rsync.yaml                      Workspace (partner, branding, staging → main, production → production, defaults)
 *                                   plus a partner-wide Policy and SLA
 *   integrations/<customer>/        customer.yaml using one template of this installation, connections.yaml
 *   templates/<name>/<version>/     the template, copied from the installation's templates/
 *   test/fixtures/…                 the payloads the template's mapping tests read, at the same relative paths,
 *                                   with the attribution lines of the installation's SOURCES.md
 *   schemas/                        the JSON Schemas the templates' editor modelines point at (schemas.ts)
 *   .gitignore, README.md, .github/workflows/rsync.yml
 *
 * It owns the new folder's first files only: it never loads or changes an existing workspace beyond the files it
 * writes (and a merged .gitignore), and it never commits. Afterwards it validates the result and runs its mapping
 * tests with the same engine calls as `rsync validate` and `rsync test`, so a template that would start a partner
 * off broken is caught here.
 */
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { initRepository } from '../git/index.js';
import { countDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { ExitCode, RsyncError } from '../diagnostics/errors.js';
import { WORKSPACE_FILE } from '../load/source.js';
import { runMappingTests, type CaseResult } from '../mapping/test-runner.js';
import { projectRoot } from '../util/paths.js';
import { isValidTimeZone } from '../validate/schedule.js';
import { openAndValidate } from '../workspace/open.js';
import {
  ciWorkflow,
  connectionFiles,
  customerFile,
  gitignoreLines,
  readme,
  workspaceFile,
  type Names,
} from './documents.js';
import { sourcesFor } from './fixtures.js';
import { schemaFilesFor, withModelines } from './schemas.js';
import { fixtureFiles, planTemplate, readTemplate } from './template.js';

export const DEFAULT_TEMPLATE = 'shopify-orders-to-erp@1';
export const DEFAULT_CUSTOMER = 'example-retailer';
/** ERP connectors `--erp` offers; the template decides whether it can write to them. */
export const ERP_CHOICES = ['netsuite', 'sandbox', 'business-central'] as const;

export interface ScaffoldOptions {
  /** The folder to create the workspace in (created when missing). */
  dir: string;
  /** The partner's display name (default: from the folder's name). */
  partner?: string;
  /** The first customer: a folder name (northwind) or a display name (Northwind Traders). Default example-retailer. */
  customer?: string;
  /** name@version of a template of the installation (default shopify-orders-to-erp@1). */
  template?: string;
  /** The connector of the ERP connection, when the template writes to an ERP (default netsuite). */
  erp?: string;
  /** Overwrite the files init writes when they exist (rsync.yaml included). */
  force?: boolean;
  /** The rsync installation whose templates/ and test/fixtures/ are copied (default: this one, projectRoot()). */
  from?: string;
  /** Initialise a Git repository when the folder is not in one (default true). */
  git?: boolean;
  /** Validate the new workspace and run its mapping tests (default true). */
  check?: boolean;
}

export interface ScaffoldCheck {
  valid: boolean;
  errors: number;
  warnings: number;
  passed: number;
  failed: number;
  diagnostics: Diagnostic[];
  /** The mapping test cases that did not pass. */
  failures: CaseResult[];
}

export interface ScaffoldResult {
  version: 1;
  /** Absolute folder of the new workspace. */
  workspace: string;
  partner: string;
  customer: string;
  template: string;
  /** Files written, relative to the workspace, sorted. */
  files: string[];
  /** Files that existed and were left as they were (README.md without --force). */
  kept: string[];
  git: 'initialized' | 'existing' | 'skipped' | 'unavailable';
  /** The environment variables the connections' secret references name. */
  secrets: string[];
  /** What the partner still has to do by hand. */
  notes: string[];
  check?: ScaffoldCheck;
  /** The commands to run next, in order. */
  next: string[];
  /**
   * How to run the flows once committed: apply, then a worker on the sandbox's simulated systems, since the
   * connections' settings are placeholders (without --sandbox every record would be dead-lettered).
   */
  run: string[];
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export async function scaffoldWorkspace(opts: ScaffoldOptions): Promise<ScaffoldResult> {
  const dir = path.resolve(opts.dir);
  const from = opts.from ?? projectRoot();
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory())
    throw new RsyncError(
      `${opts.dir} is a file, not a folder.`,
      ExitCode.USAGE,
      'Give a folder to create the workspace in.',
    );
  if (!opts.force && (await exists(path.join(dir, WORKSPACE_FILE)))) {
    throw new RsyncError(
      `${opts.dir} is already an rsync workspace: it has ${WORKSPACE_FILE}.`,
      ExitCode.REFUSED,
      'Choose an empty or new folder, or add --force to overwrite the files init writes (other files stay as they are).',
    );
  }

  const names = chooseNames(dir, opts);
  const template = await readTemplate(from, opts.template ?? DEFAULT_TEMPLATE);
  const plan = planTemplate(template, names.customer, opts.erp ?? 'netsuite');
  const fixtures = fixtureFiles(from, template);
  const notes = [...plan.notes];
  for (const o of fixtures.outside)
    notes.push(`A mapping test of the template reads ${o}, outside the rsync installation; copy it in by hand.`);

  // Everything to write: path → text, or a file to copy.
  const conns = connectionFiles(names, plan);
  const out = new Map<string, { text: string } | { copy: string }>();
  const templateRel = `templates/${template.name}/${template.version}`;
  out.set(WORKSPACE_FILE, { text: workspaceFile(names, plan) });
  out.set(`integrations/${names.customer}/customer.yaml`, { text: customerFile(names, plan) });
  for (const c of conns.files) out.set(`integrations/${names.customer}/connections/${c.name}.yaml`, { text: c.text });
  for (const f of template.files) out.set(`${templateRel}/${f}`, { copy: path.join(template.dir, f) });
  const copied: string[] = [];
  for (const f of fixtures.files) {
    if (await exists(path.join(from, f))) {
      out.set(f, { copy: path.join(from, f) });
      copied.push(f);
    } else notes.push(`Fixture ${f}, read by the template's mapping tests, is missing from the rsync installation.`);
  }
  const underFixtures = copied
    .filter((f) => f.startsWith('test/fixtures/'))
    .map((f) => f.slice('test/fixtures/'.length));
  if (copied.length) {
    const installed = await readFile(path.join(from, 'test', 'fixtures', 'SOURCES.md'), 'utf8').catch(() => undefined);
    out.set('test/fixtures/SOURCES.md', {
      text: sourcesFor(
        underFixtures.length === copied.length ? underFixtures : copied,
        installed,
        `${template.name}@${template.version}`,
      ),
    });
  }
  // Every YAML document init writes names its schema for an editor (a template's files carry theirs already).
  for (const [rel, what] of out) if ('text' in what && rel.endsWith('.yaml')) what.text = withModelines(rel, what.text);
  // The schemas the files' editor modelines point at (schemas.ts).
  const texts = new Map<string, string>();
  for (const [rel, what] of out) texts.set(rel, 'copy' in what ? await readFile(what.copy, 'utf8') : what.text);
  const schemas = schemaFilesFor(texts);
  for (const [rel, source] of schemas) out.set(rel, { copy: source });
  out.set('README.md', { text: readme(names, plan, conns.secrets, copied.length > 0, schemas.size > 0) });
  out.set('.github/workflows/rsync.yml', { text: ciWorkflow() });

  const kept: string[] = [];
  if (!opts.force) {
    if (await exists(path.join(dir, 'README.md'))) {
      out.delete('README.md');
      kept.push('README.md');
    }
    const clash: string[] = [];
    for (const rel of out.keys()) if (await exists(path.join(dir, rel))) clash.push(rel);
    if (clash.length) {
      throw new RsyncError(
        `${opts.dir} already has ${clash.length === 1 ? 'a file' : 'files'} that init would write: ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ', …' : ''}.`,
        ExitCode.REFUSED,
        'Choose an empty or new folder, or add --force to overwrite them.',
      );
    }
  }

  for (const [rel, what] of out) {
    const abs = path.join(dir, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    if ('copy' in what) await copyFile(what.copy, abs);
    else await writeFile(abs, what.text);
  }
  const files = [...out.keys()];
  if (await mergeGitignore(dir)) files.push('.gitignore');

  const git = opts.git === false ? 'skipped' : await initRepository(dir);
  if (git === 'unavailable') notes.push('git is not installed or failed: run `git init` in the folder yourself.');

  const check = opts.check === false ? undefined : await checkWorkspace(dir);
  const rel = path.relative(process.cwd(), dir).startsWith('..') ? dir : path.relative(process.cwd(), dir) || '.';
  const next = [
    ...(rel !== '.' ? [`cd ${/\s/.test(rel) ? JSON.stringify(rel) : rel}`] : []),
    'retail-sync validate',
    'retail-sync test',
    'retail-sync watch',
    ...(git === 'initialized' ? ['git add -A && git commit -m "Start the rsync workspace"'] : []),
  ];
  // The new connections hold placeholders: a worker that reached the systems they name would dead-letter every
  // record (issue 21). Until they are real, the flows run against the sandbox's simulated systems.
  const run = ['retail-sync apply --env staging', 'retail-sync worker --env staging --sandbox'];
  return {
    version: 1,
    workspace: dir,
    partner: names.partner,
    customer: names.customer,
    template: `${template.name}@${template.version}`,
    files: files.sort(),
    kept,
    git,
    secrets: conns.secrets,
    notes,
    ...(check ? { check } : {}),
    next,
    run,
  };
}

function chooseNames(dir: string, opts: ScaffoldOptions): Names {
  const partner = opts.partner?.trim() || humanize(path.basename(dir)) || 'My Integrations';
  const given = opts.customer?.trim() || DEFAULT_CUSTOMER;
  const customer = NAME.test(given) ? given : slug(given);
  if (!NAME.test(customer)) {
    throw new RsyncError(
      `"${given}" cannot be a customer name.`,
      ExitCode.USAGE,
      'Give a name with letters, e.g. --customer northwind or --customer "Northwind Traders".',
    );
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return {
    partner,
    workspace: slug(partner) || 'integrations',
    customer,
    customerDisplay: NAME.test(given) ? humanize(given) : given,
    timezone:
      zone && isValidTimeZone(zone) && /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone) ? zone : 'UTC',
    policy: 'standard',
    sla: 'standard',
  };
}

/** A resource name from any text: lower-case kebab-case, starting with a letter, at most 63 characters. */
export function slug(text: string): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return s;
}

function humanize(name: string): string {
  return name
    .split(/[-_\s]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

/** Add `.rsync/` (and the rest of init's lines) to .gitignore, keeping what is there. True when it changed. */
async function mergeGitignore(dir: string): Promise<boolean> {
  const file = path.join(dir, '.gitignore');
  const have = await readFile(file, 'utf8').catch(() => '');
  const present = new Set(have.split('\n').map((l) => l.trim()));
  const missing = gitignoreLines().filter(
    (l) => !l.startsWith('#') && !present.has(l) && !present.has(l.replace(/\/$/, '')),
  );
  if (!missing.length) return false;
  const lines = gitignoreLines().filter((l) => l.startsWith('#') || missing.includes(l));
  await writeFile(file, `${have}${have && !have.endsWith('\n') ? '\n' : ''}${have ? '\n' : ''}${lines.join('\n')}\n`);
  return true;
}

async function checkWorkspace(dir: string): Promise<ScaffoldCheck> {
  const v = await openAndValidate({ path: dir });
  const report = await runMappingTests(v.ws, v.mappings);
  const counts = countDiagnostics(v.diagnostics);
  return {
    valid: counts.errors === 0,
    ...counts,
    passed: report.passed,
    failed: report.failed,
    diagnostics: v.diagnostics,
    failures: report.cases.filter((c) => c.status !== 'passed'),
  };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
