import { existsSync } from 'node:fs';
import path from 'node:path';
import { Args } from '@oclif/core';
import { explainMapping, type MappingExplanation } from '../../../engine/mapping/explain.js';
import { openWorkspace } from '../../../engine/workspace/open.js';
import { RsyncCommand } from '../../base.js';
import { table } from '../../runtime.js';
import { dim, plural, yellow } from '../../views/diagnostics.js';

export default class ExplainMapping extends RsyncCommand<MappingExplanation> {
  static summary =
    "A mapping's lineage: the input paths that reach each output field, where they are read, and the PII.";
  static description = `For each output field of the mapping: the input paths its value is computed from (through
variables, functions, & and both branches of conditionals; what only counts or tests a value is not listed), the
line:col where each is read in the .jsonata file, what it passes through, and the PII paths it carries by the
policies of the flows that use the mapping. A read lineage cannot follow ($lookup with a key known only at run time,
$eval, $spread…) is marked undecided. This is what \`rsync validate\` checks against a policy's forbidTargets.
Name the mapping by its file, or by a flow (<customer>/<flow>, a template's flow too).`;
  static examples = [
    '<%= config.bin %> explain mapping integrations/northwind/mappings/order-to-sales-order.jsonata',
    '<%= config.bin %> explain mapping contoso/orders-to-tax --json',
  ];
  static args = {
    mapping: Args.string({ description: 'a .jsonata file, or a flow as <customer>/<flow>', required: true }),
  };

  async run(): Promise<MappingExplanation> {
    const { args } = await this.parse(ExplainMapping);
    const onDisk = existsSync(args.mapping);
    const { ws } = await openWorkspace({ path: onDisk ? path.dirname(args.mapping) : '.' });
    const result = explainMapping(ws, ws.source.root, args.mapping);
    if (!this.json) this.log(render(result));
    return result;
  }
}

function render(x: MappingExplanation): string {
  const lines = [x.file];
  for (const u of x.usedBy)
    lines.push(
      `  used by ${u.flow}: policy ${u.policy ?? '(none)'} → ${u.target ?? '?'}${u.piiForbidden ? ' (PII forbidden there)' : ''}`,
    );
  if (!x.usedBy.length) lines.push(dim('  used by no flow'));
  lines.push('');
  const rows: string[][] = [];
  for (const f of x.fields)
    f.sources.forEach((s, i) => {
      rows.push([
        i === 0 ? (f.field === '' ? '(the whole output)' : f.field) : '',
        s.path === '' ? '$ (the whole record)' : s.path,
        `${s.line}:${s.column}`,
        (s.via.length > 4 ? [...s.via.slice(0, 3), '…', ...s.via.slice(-1)] : s.via).join(' ') || '-',
        s.pii.join(', ') || '-',
        s.undecided ? yellow(`undecided: ${s.undecided}`) : '',
      ]);
    });
  if (rows.length) lines.push(table(['OUTPUT FIELD', '← INPUT PATH', 'AT', 'THROUGH', 'PII', ''], rows));
  else lines.push('No input data reaches the output (it is made of literals, counts and tests).');
  const s = x.summary;
  lines.push(
    '',
    `${plural(s.fields, 'output field')} from ${plural(s.sources, 'input path')}: ${plural(s.pii, 'PII read')}, ${s.undecided} undecided`,
  );
  return lines.join('\n');
}
