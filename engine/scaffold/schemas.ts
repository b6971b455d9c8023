/**
 * The JSON Schemas a new workspace's files point at. Template files start with an editor modeline,
 * `# yaml-language-server: $schema=../../../schemas/document.schema.json`, relative to where they sit; copied into
 * a new workspace, it pointed at a schemas/ folder init did not create (issue 21), so editors validated nothing.
 * init now copies the schemas those modelines name, and the schemas they `$ref` in turn, from this rsync
 * installation (the schemas its validator checks against), to the paths the modelines expect.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { schemasDir } from '../util/paths.js';

const MODELINE = /^#\s*yaml-language-server:\s*\$schema=(\S+)/m;

/** The `$ref`s of a schema to other files, relative to it (`defs.schema.json`, `../defs.schema.json`). */
function fileRefs(schema: string): string[] {
  return [...schema.matchAll(/"\$ref"\s*:\s*"([^"#]+)(?:#[^"]*)?"/g)].map((m) => m[1]);
}

/**
 * Schema files to add to a workspace whose files are `texts` (workspace-relative path → text): workspace-relative
 * path → the installation's file. Only modelines that lead into the workspace's schemas/ count; a schema the
 * installation does not have is left out (the modeline then names a file nobody ships).
 */
export function schemaFilesFor(texts: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const installed = schemasDir();
  const todo: string[] = [];
  for (const [rel, text] of texts) {
    const m = MODELINE.exec(text);
    if (!m || /^[a-z]+:/i.test(m[1])) continue; // none, or a URL
    todo.push(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1])));
  }
  while (todo.length) {
    const rel = todo.pop()!;
    if (out.has(rel) || !rel.startsWith('schemas/')) continue;
    const source = path.join(installed, ...rel.slice('schemas/'.length).split('/'));
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch {
      continue;
    }
    out.set(rel, source);
    for (const ref of fileRefs(text)) todo.push(path.posix.normalize(path.posix.join(path.posix.dirname(rel), ref)));
  }
  return out;
}

/**
 * A YAML file's text with an editor modeline on each of its documents that has none, naming schemas/document.schema.json
 * relative to the file (workspace-relative `rel`): yaml-language-server reads a modeline per document, so the
 * policy and SLA after rsync.yaml's Workspace need their own.
 */
export function withModelines(rel: string, text: string): string {
  const up = path.posix.relative(path.posix.dirname(rel), 'schemas/document.schema.json');
  const line = `# yaml-language-server: $schema=${up.startsWith('.') ? up : `./${up}`}`;
  return text
    .split(/^(?=---$)/m)
    .map((doc) => {
      if (MODELINE.test(doc)) return doc;
      return doc.startsWith('---\n') ? `---\n${line}\n${doc.slice(4)}` : `${line}\n${doc}`;
    })
    .join('');
}
