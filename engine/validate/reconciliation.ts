/**
 * The checks of a Reconciliation (schemas/reconciliation.schema.json) beyond its schema: each side names a
 * connection of its customer, reads exactly one of a stream (that the connector can read) or an entity (that one of
 * the customer's flows writes to that connection, so the ledger has target ids to read it back by), and its
 * expressions compile as JSONata, the key reading something of the record.
 */
import { connectorSpec } from '../connectors/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { compile, readsInput } from '../jsonata/index.js';
import { suggest } from '../load/loader.js';
import type { Path } from '../load/yaml.js';
import { isObject } from '../util/merge.js';
import type { CustomerModel, Resource } from '../model/workspace.js';

/** What validate.ts's reporter offers: a problem at a path, or at a character of the string there. */
export interface SideReporter {
  at(r: Resource, path: Path, d: Omit<Diagnostic, 'range' | 'address'>, key?: boolean): void;
  inScalar(r: Resource, path: Path, index: number, d: Omit<Diagnostic, 'range' | 'address'>): void;
}

/** The JSONata fields of a side, and what each gives (for the message of one that does not compile). */
const EXPRESSIONS = {
  key: 'the key the two sides are matched by',
  time: "the record's time",
  amount: "the record's amount",
  currency: "the amount's currency",
  filter: 'whether the record is compared',
} as const;

export function checkReconciliation(c: CustomerModel, r: Resource<'Reconciliation'>, rep: SideReporter): void {
  for (const side of ['left', 'right'] as const) {
    const s = r.spec[side];
    if (isObject(s)) checkSide(c, r, side, s, rep);
  }
}

function checkSide(
  c: CustomerModel,
  r: Resource<'Reconciliation'>,
  side: 'left' | 'right',
  s: Record<string, unknown>,
  rep: SideReporter,
): void {
  const at = (field: string): Path => ['spec', side, field];
  const stream = typeof s.stream === 'string' ? s.stream : undefined;
  const entity = typeof s.entity === 'string' ? s.entity : undefined;
  if ((stream === undefined) === (entity === undefined))
    rep.at(
      r,
      stream !== undefined ? at('entity') : ['spec', side],
      {
        severity: 'error',
        code: 'schema-choice',
        summary: `The ${side} side must read a stream or an entity, not ${stream !== undefined ? 'both' : 'neither'}`,
        detail:
          'Give `stream:` to read the connection as a flow source reads it (e.g. orders), or `entity:` to read back what the flows wrote to it (e.g. salesOrder).',
      },
      true,
    );

  const name = typeof s.connection === 'string' ? s.connection : undefined;
  const conn = name === undefined ? undefined : c.connections.get(name);
  if (name !== undefined && !conn)
    rep.at(r, at('connection'), {
      severity: 'error',
      code: 'ref-unknown',
      summary: `Unknown connection "${name}"`,
      detail: `Customer ${c.name} has the connections ${[...c.connections.keys()].join(', ') || '(none)'}.${suggest(name, c.connections.keys())} Declare it as a Connection in ${c.folder}/.`,
    });
  if (conn && stream !== undefined) {
    const type = typeof conn.spec.connector === 'string' ? conn.spec.connector : undefined;
    const spec = type === undefined ? undefined : connectorSpec(type);
    const streams = spec && !spec.dynamic ? Object.keys(spec.streams) : undefined;
    if (spec && streams && !streams.includes(stream))
      rep.at(r, at('stream'), {
        severity: 'error',
        code: 'source-cannot-read',
        summary: `${conn.name} (${spec.name}) cannot read "${stream}"`,
        detail: streams.length
          ? `The ${spec.name} connector reads: ${streams.join(', ')}.${suggest(stream, streams)}`
          : `The ${spec.name} connector reads nothing: read back an entity its flows write instead.`,
      });
  }
  if (conn && entity !== undefined) {
    const writers = [...c.flows.values()].filter((f) => {
      const t = isObject(f.spec.target) ? f.spec.target : {};
      return t.connection === conn.name && t.entity === entity;
    });
    if (!writers.length) {
      const written = [
        ...new Set(
          [...c.flows.values()].flatMap((f) => {
            const t = isObject(f.spec.target) ? f.spec.target : {};
            return t.connection === conn.name && typeof t.entity === 'string' ? [t.entity] : [];
          }),
        ),
      ];
      rep.at(r, at('entity'), {
        severity: 'error',
        code: 'reconciliation-unwritten',
        summary: `No flow of ${c.name} writes ${entity} to ${conn.name}`,
        detail: `An entity is read back by the target ids rsync wrote it under, so one of the customer's flows must write it. ${written.length ? `Flows write ${written.join(', ')} to ${conn.name}.${suggest(entity, written)}` : `No flow writes to ${conn.name}.`} Or read the system as a source, with \`stream:\`.`,
      });
    }
  }

  for (const [field, what] of Object.entries(EXPRESSIONS)) {
    const text = s[field];
    if (typeof text !== 'string') continue;
    const k = compile(text);
    if (!k.ok) {
      rep.inScalar(r, at(field), k.problem.index, {
        severity: 'error',
        code: 'jsonata-syntax',
        summary: `The ${side} side's ${field} does not compile`,
        detail: `${k.problem.message} (${k.problem.code}). \`${field}\` is a JSONata expression over one record giving ${what}, e.g. ${field === 'key' ? `"'order-' & $string(id)"` : field === 'time' ? 'created_at' : field === 'filter' ? '"test != true"' : field === 'amount' ? 'total_price' : 'currency'}.`,
      });
    } else if (field === 'key' && !readsInput(k.expr))
      rep.at(r, at(field), {
        severity: 'error',
        code: 'key-constant',
        summary: `The ${side} side's key is the same for every record`,
        detail: `${JSON.stringify(text)} reads nothing of the record, so every record would be one key and nothing could be matched. Build it from the record's id, e.g. "'order-' & $string(id)".`,
      });
  }
}
