/**
 * Editor completion on a fresh workspace (issue 18, part 6): the yaml-language-server from the npm registry, started
 * as an editor starts it (--stdio) and spoken to over the Language Server Protocol, reads the modeline of a connection
 * file that `rsync init` wrote, follows it to the schemas init copied (document → connection →
 * connection-settings, generated from the connector catalogue), offers the connector's own setting names inside
 * `settings:`, and reports a misspelt setting. Nothing is fetched from the network (the schema store is off).
 *
 * Also: every YAML document init writes carries a modeline that resolves, and the published settings schema is the
 * catalogue's (schemas/connection-settings.schema.json is generated; a stale one fails here as in `npm test`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CompletionRequest,
  type CompletionItem,
  type CompletionList,
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  type Diagnostic,
  InitializedNotification,
  InitializeRequest,
  type ProtocolConnection,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchemaIsCurrent } from '../../engine/connectors/settings-schema.js';
import { CONNECTORS } from '../../engine/connectors/catalog.js';
import { scaffoldWorkspace } from '../../engine/scaffold/scaffold.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER = path.join(ROOT, 'node_modules', 'yaml-language-server', 'bin', 'yaml-language-server');

function yamlFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel)).flatMap((name) => {
    const r = rel ? `${rel}/${name}` : name;
    if (name === '.git' || name === '.rsync') return [];
    if (statSync(path.join(dir, r)).isDirectory()) return yamlFiles(dir, r);
    return r.endsWith('.yaml') ? [r] : [];
  });
}

describe('rsync init: editor completion over the language server protocol', () => {
  let tmp: string;
  let dir: string;
  let server: ChildProcess;
  let lsp: ProtocolConnection;
  const diagnostics = new Map<string, Diagnostic[]>();
  const waiters: (() => void)[] = [];

  /** The diagnostics the server publishes next for `uri` that satisfy `ok`. */
  async function diagnosticsFor(uri: string, ok: (d: Diagnostic[]) => boolean): Promise<Diagnostic[]> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const got = diagnostics.get(uri);
      if (got && ok(got)) return got;
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
    return diagnostics.get(uri) ?? [];
  }

  let version = 0;
  async function open(rel: string, text: string): Promise<string> {
    const file = path.join(dir, rel);
    await writeFile(file, text);
    const uri = pathToFileURL(file).href;
    diagnostics.delete(uri);
    await lsp.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'yaml', version: ++version, text },
    });
    return uri;
  }

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'rsync-editor-'));
    dir = path.join(tmp, 'acme');
    await scaffoldWorkspace({ dir, partner: 'Acme', customer: 'northwind', git: false, check: false });

    server = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    lsp = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
    lsp.onNotification(PublishDiagnosticsNotification.type, (p) => {
      diagnostics.set(p.uri, p.diagnostics);
      for (const w of waiters.splice(0)) w();
    });
    lsp.listen();
    await lsp.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'acme' }],
      capabilities: {
        textDocument: {
          completion: { completionItem: { snippetSupport: true } },
          publishDiagnostics: {},
        },
      },
    });
    await lsp.sendNotification(InitializedNotification.type, {});
    await lsp.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { yaml: { validate: true, completion: true, hover: true, schemaStore: { enable: false } } },
    });
  }, 20_000);

  afterAll(async () => {
    lsp?.dispose();
    server?.kill();
    await rm(tmp, { recursive: true, force: true });
  });

  it('every YAML document init writes names a schema that the workspace has', () => {
    const files = yamlFiles(dir);
    expect(files).toContain('rsync.yaml');
    expect(files).toContain('integrations/northwind/connections/shopify.yaml');
    for (const f of files) {
      const docs = readFileSync(path.join(dir, f), 'utf8').split(/^---$/m);
      for (const [i, doc] of docs.entries()) {
        const m = /^#\s*yaml-language-server:\s*\$schema=(\S+)$/m.exec(doc);
        expect(m, `${f}, document ${i + 1}, has a modeline`).not.toBeNull();
        const target = path.resolve(path.dirname(path.join(dir, f)), m![1]!);
        expect(() => statSync(target), `${f} points at ${m![1]}`).not.toThrow();
      }
    }
  });

  it('the published settings schema is the catalogue’s, one branch per connector', () => {
    expect(settingsSchemaIsCurrent(), 'run npm run gen:schemas').toBe(true);
    const schema = JSON.parse(readFileSync(path.join(dir, 'schemas', 'connection-settings.schema.json'), 'utf8'));
    expect(schema.$comment).toMatch(/^Generated from the connector catalogue/);
    expect(
      schema.allOf.map(
        (b: { if: { properties: { connector: { const: string } } } }) => b.if.properties.connector.const,
      ),
    ).toEqual(Object.keys(CONNECTORS));
  });

  it("offers the connector's settings inside settings:, and reports a misspelt one", async () => {
    const rel = 'integrations/northwind/connections/shopify.yaml';
    const written = readFileSync(path.join(dir, rel), 'utf8');
    // As written: no diagnostics at all (the server validated it against the chain of schemas).
    const clean = await diagnosticsFor(await open(rel, written), () => true);
    expect(clean).toEqual([]);

    // A new line inside settings:, indented as its siblings, where the editor's cursor would be.
    const lines = written.split('\n');
    const at = lines.findIndex((l) => /^ {2}settings:$/.test(l));
    expect(at).toBeGreaterThan(0);
    lines.splice(at + 1, 0, '    ');
    const uri = await open('integrations/northwind/connections/shopify-edit.yaml', lines.join('\n'));
    const result = (await lsp.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position: { line: at + 1, character: 4 },
    })) as CompletionList | CompletionItem[] | null;
    const items = Array.isArray(result) ? result : (result?.items ?? []);
    const labels = items.map((i) => i.label);
    // Shopify's own settings not yet written (shop, apiVersion… are), and none of another connector's.
    for (const s of ['baseUrl', 'locationId', 'stockLocations', 'bulk', 'rateLimit']) expect(labels).toContain(s);
    expect(labels).not.toContain('accountId'); // NetSuite's
    expect(labels).not.toContain('shop'); // already there

    // A misspelt setting: a diagnostic on its line that names it.
    const typo = written.replace(/^ {4}shop: /m, '    shopp: ');
    const typoLine = typo.split('\n').findIndex((l) => l.startsWith('    shopp:'));
    const found = await diagnosticsFor(await open('integrations/northwind/connections/shopify-typo.yaml', typo), (d) =>
      d.some((x) => x.range.start.line === typoLine),
    );
    const onLine = found.filter((d) => d.range.start.line === typoLine);
    expect(onLine.length, JSON.stringify(found)).toBeGreaterThan(0);
    expect(onLine.map((d) => d.message).join(' ')).toMatch(/shopp/);
  }, 20_000);
});
