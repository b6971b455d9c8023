/**
 * Attribution for the fixture files copied into a new workspace: the lines of the installation's
 * test/fixtures/SOURCES.md that name them (a table row per vendor folder, or any line naming the file), under
 * the same header, so the copy says where each payload comes from and under which license.
 */

const HEADER = '# Third-party sample payloads';

/**
 * SOURCES.md for `copied` (paths relative to test/fixtures/, e.g. shopify-webhooks/orders_create.json), from the
 * installation's SOURCES.md text (undefined when it has none).
 */
export function sourcesFor(copied: string[], installed: string | undefined, template: string): string {
  const lines = installed?.split('\n') ?? [];
  const picked: string[] = [];
  let tableHead: string[] = [];
  const unattributed: string[] = [];
  for (const file of copied) {
    const folder = file.includes('/') ? `${file.slice(0, file.lastIndexOf('/'))}/` : undefined;
    const base = file.slice(file.lastIndexOf('/') + 1);
    const hit = lines.find(
      (l) =>
        l.includes(file) ||
        (folder !== undefined && l.replace(/`/g, '').match(new RegExp(`^\\|?\\s*${escapeRegExp(folder)}\\s*\\|`))) ||
        (l.includes(base) && /^\s*[-|*]/.test(l)),
    );
    if (!hit) {
      unattributed.push(file);
      continue;
    }
    if (!picked.includes(hit)) picked.push(hit);
    if (hit.trimStart().startsWith('|') && !tableHead.length) {
      // The table's header and separator: the last two lines starting with | before the first row.
      const at = lines.indexOf(hit);
      let start = at;
      while (start > 0 && lines[start - 1].trimStart().startsWith('|')) start--;
      tableHead = lines.slice(start, Math.min(start + 2, at));
    }
  }
  const rows = picked.filter((l) => l.trimStart().startsWith('|'));
  const others = picked.filter((l) => !l.trimStart().startsWith('|'));
  const out = [
    HEADER,
    '',
    `Copied from rsync's test/fixtures/ by \`rsync init\`, for the mapping tests of template ${template}. The payloads`,
    'are published by the vendors (or their SDKs); keep this file with them.',
    '',
    '| file |',
    '|---|',
    ...copied.map((f) => `| ${f} |`),
    '',
  ];
  if (rows.length) out.push('Origin and license:', '', ...tableHead, ...rows, '');
  if (others.length) out.push(...others, '');
  const quirks = bullets(lines).filter((b) =>
    copied.some((f) => b.includes(f) || b.includes(f.slice(0, f.lastIndexOf('/') + 1) || f)),
  );
  if (quirks.length) out.push("Known quirks (from rsync's SOURCES.md):", ...quirks, '');
  if (unattributed.length) {
    out.push(
      `rsync's SOURCES.md names no origin for: ${unattributed.join(', ')}. Find it before you publish them.`,
      '',
    );
  }
  return out.join('\n');
}

/** Markdown list items (`- ` and their indented continuation lines), each as one string with its line breaks. */
function bullets(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (/^- /.test(l)) out.push(l);
    else if (out.length && /^ {2}\S/.test(l) && out[out.length - 1] !== undefined) out[out.length - 1] += `\n${l}`;
    else if (!/^ {2}/.test(l)) out.push('\u0000'); // a break between lists
  }
  return out.filter((b) => b !== '\u0000');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
