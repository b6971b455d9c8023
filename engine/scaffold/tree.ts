/** A list of relative file paths drawn as a tree (folders first, then files, each sorted), like `tree`. */

interface Node {
  dirs: Map<string, Node>;
  files: string[];
}

export function renderTree(root: string, files: readonly string[]): string {
  const top: Node = { dirs: new Map(), files: [] };
  for (const f of files) {
    const parts = f.split('/');
    let node = top;
    for (const dir of parts.slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, { dirs: new Map(), files: [] });
      node = node.dirs.get(dir)!;
    }
    node.files.push(parts[parts.length - 1]);
  }
  const lines = [root];
  const draw = (node: Node, prefix: string) => {
    const entries: [string, Node | undefined][] = [
      ...[...node.dirs.keys()].sort().map((d): [string, Node] => [d, node.dirs.get(d)!]),
      ...[...node.files].sort().map((f): [string, undefined] => [f, undefined]),
    ];
    entries.forEach(([name, child], i) => {
      const last = i === entries.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${name}${child ? '/' : ''}`);
      if (child) draw(child, prefix + (last ? '    ' : '│   '));
    });
  };
  draw(top, '');
  return lines.join('\n');
}
