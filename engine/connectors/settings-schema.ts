/**
 * The connector catalogue's settings schemas folded into one published schema, schemas/connection-settings.schema.json:
 * `if connector == X then settings: <X's settings schema>`, one branch per connector, which connection.schema.json
 * includes (`allOf`). An editor that reads the published schemas (yaml-language-server) then completes and checks a
 * connection's `settings` for its connector type, as `rsync validate` does with the catalogue itself.
 *
 * The file is generated, never edited: `npm run gen:schemas` writes it, `npm run check:schemas` (and
 * test/connectors/settings-schema.test.ts) fails when it is stale, as gen:types does for the types.
 *
 *   node --import tsx engine/connectors/settings-schema.ts           write schemas/connection-settings.schema.json
 *   node --import tsx engine/connectors/settings-schema.ts --check   write nothing; exit 1 when it is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemasDir } from '../util/paths.js';
import { CONNECTORS } from './catalog.js';

export const SETTINGS_SCHEMA_FILE = 'connection-settings.schema.json';
const BASE = 'https://rsync.dev/schemas/v1/';

/**
 * A settings schema as published: `$ref`s to rsync's own schemas made relative (`defs.schema.json#/$defs/secretRef`),
 * so that an editor resolves them from the files beside it instead of fetching rsync.dev, which Ajv resolves alike.
 */
function published(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(published);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(BASE)) return [k, v.slice(BASE.length)];
      // An alternative's `properties: { consumerKey: {} }` (defined above, as Ajv's strict mode asks) as `true`:
      // the same schema, which editors and the schema tests read as "declared by the parent".
      if (k === 'anyOf' && Array.isArray(v)) return [k, v.map(declaredAbove)];
      return [k, published(v)];
    }),
  );
}

function declaredAbove(branch: { properties?: Record<string, unknown> }): unknown {
  if (!branch.properties) return published(branch);
  const props = Object.entries(branch.properties).map(([p, v]) => [
    p,
    Object.keys(v as object).length ? published(v) : true,
  ]);
  return { ...branch, properties: Object.fromEntries(props) };
}

/** The text of schemas/connection-settings.schema.json, from the catalogue in catalogue order. */
export function settingsSchemaText(): string {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${BASE}${SETTINGS_SCHEMA_FILE}`,
    $comment:
      'Generated from the connector catalogue (engine/connectors/*/spec.ts) by engine/connectors/settings-schema.ts. Do not edit: change a spec.ts and run `npm run gen:schemas`.',
    title: 'ConnectionSettings',
    type: 'object',
    description: "A connection's settings by its connector type: one branch per connector of the catalogue.",
    allOf: Object.values(CONNECTORS).map((spec) => ({
      if: { properties: { connector: { const: spec.name } }, required: ['connector'] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a promise
      then: {
        properties: {
          settings: { ...(published(spec.settings) as object), description: `${spec.title}: its settings.` },
        },
      },
    })),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Whether the published file is the catalogue's (what --check and the test ask). */
export function settingsSchemaIsCurrent(): boolean {
  try {
    return readFileSync(path.join(schemasDir(), SETTINGS_SCHEMA_FILE), 'utf8') === settingsSchemaText();
  } catch {
    return false;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.join(schemasDir(), SETTINGS_SCHEMA_FILE);
  if (process.argv.includes('--check')) {
    if (!settingsSchemaIsCurrent()) {
      console.error(`schemas/${SETTINGS_SCHEMA_FILE} is stale: run \`npm run gen:schemas\` and commit it.`);
      process.exit(1);
    }
  } else {
    writeFileSync(file, settingsSchemaText());
    console.log(`wrote schemas/${SETTINGS_SCHEMA_FILE} (${Object.keys(CONNECTORS).length} connectors)`);
  }
}
