/**
 * Broken workspaces (test/fixtures/broken/<case>/, each an overlay on _baseline/ made whole in a temp folder by
 * test/helpers/broken.ts): every deliberate mistake is reported by `rsync validate` at the line (and, when pinned,
 * the column) its inline marker names, with the marker's code, and nothing else is reported. The format of a case
 * and of its markers is in test/fixtures/broken/README.md and test/helpers/markers.ts.
 *
 * Then the same through the built CLI (exit code, the `file:line:col error CODE summary` lines, `--json`, no stack
 * trace), the example workspace at the project root (it must validate), and `validate --ref` against a real Git
 * repository.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODES } from '../../engine/diagnostics/codes.js';
import { diagnosticToJSON, formatDiagnostic, type Diagnostic } from '../../engine/diagnostics/diagnostic.js';
import { loadWorkspace } from '../../engine/load/loader.js';
import { parseYamlFile } from '../../engine/load/yaml.js';
import { validateWorkspace } from '../../engine/validate/validate.js';
import { findLiteralSecrets } from '../../engine/validate/secrets.js';
import { openAndValidate } from '../../engine/workspace/open.js';
import { buildProblem as sharedBuildProblem, git as gitIn, ROOT, runCli, type Run } from '../helpers/cli.js';
import { BASELINE, BROKEN, brokenCases, caseOptions, materialise } from '../helpers/broken.js';
import { compare, describe as describeDiagnostic, fixtureFiles, readMarkers } from '../helpers/markers.js';

const CASES = brokenCases();

/** Each case's materialised workspace (baseline + overlay), made once for the file and removed in afterAll. */
const workspaces = new Map<string, string>();
function workspaceOf(name: string): string {
  let dir = workspaces.get(name);
  if (!dir) {
    dir = materialise(name);
    workspaces.set(name, dir);
  }
  return dir;
}
afterAll(() => {
  for (const dir of workspaces.values()) rmSync(dir, { recursive: true, force: true });
});

/** The command-line flags of a case's options. */
function flagsOf(name: string): string[] {
  const { env } = caseOptions(name);
  return env ? ['--env', env] : [];
}

/** What `rsync validate` reports for a case, through the same function the CLI uses. */
async function diagnosticsOf(name: string): Promise<Diagnostic[]> {
  return (await openAndValidate({ path: workspaceOf(name), env: caseOptions(name).env })).shown;
}

/** Literal secrets written in a case's YAML files: no diagnostic may repeat them. */
function secretsIn(dir: string): string[] {
  const out = new Set<string>();
  for (const file of fixtureFiles(dir)) {
    if (!/\.ya?ml$/.test(file)) continue;
    // The documents as rsync reads them: one it refuses (an alias bomb, a cycle) holds no secret it could repeat.
    for (const doc of parseYamlFile(file, readFileSync(path.join(dir, file), 'utf8')).docs) {
      const value = doc.value;
      for (const f of findLiteralSecrets(value)) {
        let v: unknown = value;
        for (const seg of f.path) v = (v as Record<string | number, unknown>)[seg];
        if (typeof v !== 'string') continue;
        const password = /:\/\/[^\s:/@]+:([^\s@/]+)@/.exec(v)?.[1];
        if (password) out.add(password);
        // The whole value, and a prefix (messages shorten long values to 40 characters).
        out.add(v);
        if (v.length > 24) out.add(v.slice(0, 24));
      }
    }
  }
  return [...out].filter((s) => s.length >= 6);
}

/** Every check of one case, as a list of problems (empty when the case passes). */
async function problemsOf(name: string): Promise<string[]> {
  const dir = workspaceOf(name);
  const markers = readMarkers(dir);
  const diags = await diagnosticsOf(name);
  const problems: string[] = [];

  const { missing, extra, wrongText } = compare(markers, diags);
  if (missing.length) problems.push(`markers with no diagnostic:\n  ${missing.join('\n  ')}`);
  if (extra.length) problems.push(`diagnostics with no marker:\n  ${extra.join('\n  ')}`);
  if (wrongText.length) problems.push(`diagnostics without the marker's text:\n  ${wrongText.join('\n  ')}`);

  for (const m of markers)
    if (!(m.code in CODES)) problems.push(`marker ${m.file}:${m.line} names the unknown code ${m.code}`);
  const secrets = secretsIn(dir);
  for (const d of diags) {
    const where = describeDiagnostic(d);
    if (!d.summary?.trim()) problems.push(`${where}: empty summary`);
    if (!d.detail?.trim()) problems.push(`${where}: no detail (the fix)`);
    if (!d.range) problems.push(`${where}: no file position`);
    if (!(d.code in CODES)) problems.push(`${where}: code ${d.code} is not in engine/diagnostics/codes.ts`);
    if (
      /\(reported for \d+ resources\)/.test(d.detail) &&
      !d.detail.includes('from template') &&
      !d.range?.file.startsWith('templates/')
    ) {
      problems.push(`${where}: "(reported for N resources)" on a diagnostic that no template repeated: ${d.detail}`);
    }
    for (const s of secrets) {
      if (`${d.summary}\n${d.detail}`.includes(s)) problems.push(`${where}: repeats the literal secret "${s}"`);
    }
  }
  return problems;
}

describe('broken workspaces: every mistake at its marker, nothing else', () => {
  it('has the cases and the README', () => {
    expect(existsSync(path.join(BROKEN, 'README.md'))).toBe(true);
    expect(CASES).toContain(BASELINE);
    expect(CASES.length).toBeGreaterThan(30);
  });

  it('the baseline is valid and has no markers', async () => {
    expect(readMarkers(workspaceOf(BASELINE))).toEqual([]);
    expect((await diagnosticsOf(BASELINE)).map(describeDiagnostic)).toEqual([]);
  });

  for (const name of CASES.filter((c) => c !== BASELINE)) {
    it(name, async () => {
      expect(readMarkers(workspaceOf(name)).length, `${name} has no markers`).toBeGreaterThan(0);
      const problems = await problemsOf(name);
      expect(problems, `${name}:\n${problems.join('\n')}`).toEqual([]);
    });
  }

  it('loadWorkspace + validateWorkspace report what openAndValidate reports', async () => {
    for (const name of CASES) {
      const root = workspaceOf(name);
      const direct = validateWorkspace(await loadWorkspace({ root, env: caseOptions(name).env })).diagnostics.map(
        diagnosticToJSON,
      );
      expect(direct, name).toEqual((await diagnosticsOf(name)).map(diagnosticToJSON));
    }
  });

  // checkOverlayNames pushes into ws.diagnostics, so a second validation of one loaded workspace reports the
  // environment-unknown diagnostics twice (merged, with "(reported for 2 resources)").
  it('validating one loaded workspace twice gives the same diagnostics', async () => {
    const ws = await loadWorkspace({ root: workspaceOf('environment-unknown') });
    const first = validateWorkspace(ws).diagnostics.map(diagnosticToJSON);
    const second = validateWorkspace(ws).diagnostics.map(diagnosticToJSON);
    expect(second).toEqual(first);
  });
});

// --- the built CLI ------------------------------------------------------------------------------------------------

/** Why the build cannot be used (missing, or older than a source of the validate command), or undefined. */
const buildProblem = () => sharedBuildProblem(['cli/commands/validate.ts']);

/** Run the built CLI (validate reads no database: none is passed). */
const rsync = (args: string[], cwd = ROOT): Promise<Run> => runCli(args, cwd, { actor: 'rsync test' });

/** No stack trace and no raw JavaScript error in what a command printed. */
function expectNoStackTrace(r: Run): void {
  for (const [stream, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const) {
    expect(text, `${stream} has a stack trace:\n${text}`).not.toMatch(/^ {4}at /m);
    expect(text, `${stream} has a raw error:\n${text}`).not.toMatch(/^\w*Error:/m);
    expect(text, `${stream} has a raw error:\n${text}`).not.toMatch(
      /\b(?:TypeError|ReferenceError|SyntaxError|RangeError)\b/,
    );
  }
}

const CLI_CASES = ['dangling-refs', 'jsonata-key', 'secrets', 'sla-unreachable', 'env-overlay'];
/** A CLI run takes a second or two, but several at once on a busy machine (npm test runs the files side by side) more. */
const CLI_TIMEOUT = 120_000;

describe('rsync validate (the built CLI) on broken workspaces', { timeout: CLI_TIMEOUT }, () => {
  beforeAll(() => {
    const problem = buildProblem();
    if (problem) throw new Error(problem);
  });

  for (const name of CLI_CASES) {
    it(`${name}: exit 1, file:line:col lines, --json with the same diagnostics`, async () => {
      const dir = workspaceOf(name);
      const expected = await diagnosticsOf(name);
      expect(expected.length).toBeGreaterThan(0);

      const text = await rsync(['validate', dir, ...flagsOf(name)]);
      expectNoStackTrace(text);
      expect(text.status, `exit code of rsync validate ${name}\n${text.stdout}\n${text.stderr}`).toBe(1);
      const lines = text.stdout.split('\n');
      for (const d of expected) {
        const head = `${d.range!.file}:${d.range!.start.line}:${d.range!.start.column} ${d.severity} ${d.code} ${d.summary}`;
        expect(
          lines.some((l) => l.startsWith(head)),
          `no line "${head}" in:\n${text.stdout}`,
        ).toBe(true);
        expect(text.stdout).toContain(formatDiagnostic(d));
      }
      const errors = expected.filter((d) => d.severity === 'error').length;
      expect(text.stdout).toMatch(new RegExp(`✗ ${errors} errors?, `));
      for (const s of secretsIn(dir))
        expect(text.stdout + text.stderr, 'the output repeats a literal secret').not.toContain(s);

      const json = await rsync(['validate', dir, ...flagsOf(name), '--json']);
      expectNoStackTrace(json);
      expect(json.status).toBe(1);
      const parsed = JSON.parse(json.stdout) as {
        valid: boolean;
        diagnostics: Record<string, unknown>[];
        summary: { errors: number };
      };
      expect(parsed.valid).toBe(false);
      expect(parsed.summary.errors).toBe(errors);
      expect(parsed.diagnostics).toEqual(expected.map(diagnosticToJSON));
    });
  }

  it('the baseline: exit 0', async () => {
    const r = await rsync(['validate', workspaceOf(BASELINE)]);
    expectNoStackTrace(r);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('is valid');
  });

  it('a folder with no rsync.yaml: exit 66 and a message, no stack trace', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'rsync-empty-'));
    try {
      const r = await rsync(['validate', empty], empty);
      expectNoStackTrace(r);
      expect(r.status).toBe(66);
      expect(r.stderr).toContain('No rsync.yaml');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

// --- the example workspace at the project root --------------------------------------------------------------------

const EXAMPLE_EMPTY =
  !existsSync(path.join(ROOT, 'integrations')) || readdirSync(path.join(ROOT, 'integrations')).length === 0;

describe.skipIf(EXAMPLE_EMPTY)(
  `the example workspace at the project root validates${EXAMPLE_EMPTY ? ' (skipped: integrations/ is empty, the example workspace is not written yet)' : ''}`,
  { timeout: CLI_TIMEOUT },
  () => {
    it('in process: no errors', async () => {
      const v = await openAndValidate({ path: ROOT });
      const errors = v.shown.filter((d) => d.severity === 'error');
      expect(errors.map((d) => `${describeDiagnostic(d)}\n    ${d.detail}`)).toEqual([]);
    });

    it('the CLI: exit 0', async () => {
      const problem = buildProblem();
      if (problem) throw new Error(problem);
      const r = await rsync(['validate', ROOT]);
      expectNoStackTrace(r);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const json = await rsync(['validate', ROOT, '--json']);
      expect(json.status).toBe(0);
      expect((JSON.parse(json.stdout) as { valid: boolean }).valid).toBe(true);
    });
  },
);

// --- validate --ref: the workspace as committed, not the working tree ------------------------------------------------

describe('rsync validate --ref', { timeout: CLI_TIMEOUT }, () => {
  let repo: string;
  let ws: string;
  const git = (...args: string[]) => gitIn(repo, ...args);
  const FLOW = 'integrations/northwind/flows/orders-to-erp.yaml';

  beforeAll(() => {
    const problem = buildProblem();
    if (problem) throw new Error(problem);
    repo = mkdtempSync(path.join(os.tmpdir(), 'rsync-ref-'));
    // The workspace is a sub-folder of the repository, as in a monorepo.
    ws = path.join(repo, 'partner');
    materialise(BASELINE, ws);
    writeFileSync(path.join(repo, 'README.md'), 'test repository\n');
    git('init', '--quiet');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'a valid workspace');
    // Break the working tree without committing: a stream shopify cannot read, and an untracked broken file.
    const flow = path.join(ws, FLOW);
    writeFileSync(flow, readFileSync(flow, 'utf8').replace('stream: orders', 'stream: order'));
    writeFileSync(
      path.join(ws, 'integrations/northwind/flows/draft.yaml'),
      'apiVersion: rsync/v1\nkind: Flw\nmetadata: { name: draft }\nspec: {}\n',
    );
  });

  afterAll(() => {
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('in process: HEAD is clean, the working tree is not', async () => {
    expect((await openAndValidate({ path: ws, ref: 'HEAD' })).shown.map(describeDiagnostic)).toEqual([]);
    const tree = (await openAndValidate({ path: ws })).shown;
    expect(tree.map((d) => `${d.range?.file}:${d.range?.start.line} ${d.code}`).sort()).toEqual([
      'integrations/northwind/flows/draft.yaml:2 kind-unknown',
      `${FLOW}:5 source-cannot-read`,
    ]);
  });

  it('the CLI: --ref HEAD exits 0, the working tree exits 1 with the error', async () => {
    const atHead = await rsync(['validate', ws, '--ref', 'HEAD']);
    expectNoStackTrace(atHead);
    expect(atHead.status, atHead.stdout + atHead.stderr).toBe(0);
    expect(atHead.stdout).toContain('@HEAD is valid');

    const json = await rsync(['validate', ws, '--ref', 'HEAD', '--json']);
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout) as { valid: boolean; ref: string; commit: string };
    expect(parsed.valid).toBe(true);
    expect(parsed.ref).toBe('HEAD');
    expect(parsed.commit).toBe(git('rev-parse', 'HEAD').trim());

    const tree = await rsync(['validate', ws]);
    expectNoStackTrace(tree);
    expect(tree.status).toBe(1);
    expect(tree.stdout).toMatch(new RegExp(`^${FLOW.replace(/[.]/g, '\\.')}:5:\\d+ error source-cannot-read `, 'm'));
  });

  it('an unknown ref: exit 66, a clear message, no stack trace', async () => {
    const r = await rsync(['validate', ws, '--ref', 'no-such-branch']);
    expectNoStackTrace(r);
    expect(r.status).toBe(66);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^rsync: Git ref "no-such-branch" does not exist/);

    const json = await rsync(['validate', ws, '--ref', 'no-such-branch', '--json']);
    expectNoStackTrace(json);
    expect(json.status).toBe(66);
    const parsed = JSON.parse(json.stdout) as { error: { exitCode: number; message: string } };
    expect(parsed.error.exitCode).toBe(66);
    expect(parsed.error.message).toContain('no-such-branch');
  });

  it('--ref outside a Git repository: exit 66, no stack trace', async () => {
    const plain = mkdtempSync(path.join(os.tmpdir(), 'rsync-nogit-'));
    try {
      materialise(BASELINE, plain);
      const r = await rsync(['validate', plain, '--ref', 'HEAD'], plain);
      expectNoStackTrace(r);
      expect(r.status).toBe(66);
      expect(r.stderr).toContain('not inside a Git repository');
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});
