/**
 * Every diagnostic code rsync reports, with what it means. The README's table of codes is checked against this
 * list by test/diagnostics/codes.test.ts, and every code used in engine/ must be listed here.
 */
export const CODES: Readonly<Record<string, string>> = {
  // Files and documents
  'yaml-syntax': 'The file is not valid YAML (indentation, quotes, brackets).',
  'yaml-duplicate-key': 'A key appears twice in one mapping.',
  'yaml-character':
    'A control character YAML does not allow (anything but tab, line breaks and NUL, which is text-unstorable) in a file.',
  'yaml-depth': 'A file nests more than 100 levels (mappings, lists, brackets): none of its documents is read.',
  'yaml-alias':
    'An alias before its anchor, inside the node it repeats, or past the bounds of a document (1,000 aliases, 1,000,000 characters repeated: an alias bomb).',
  'yaml-merge-key':
    'A merge key (`<<`) given anything but mappings, or `!!merge` used as a value; `<<: *base` merges as in YAML 1.1.',
  'yaml-tag':
    "A tag rsync does not read (`!!binary`, `!!timestamp`, `!custom`): only the core schema's tags; the value is read as if untagged.",
  'document-not-object': 'A document is not a mapping with apiVersion, kind, metadata and spec.',
  'kind-unknown': 'A document has no kind, or one rsync does not know.',
  'document-misplaced':
    'A document sits where its kind cannot be declared (e.g. a Flow in rsync.yaml, a file directly under integrations/).',
  'workspace-missing': 'The folder has no rsync.yaml.',
  'customer-missing': 'A customer folder has no Customer document.',
  'customer-name-mismatch': "A Customer's metadata.name differs from its folder's name.",
  'duplicate-name': 'Two resources of one kind share a name within a customer (or two templates a version).',
  // Schema
  'schema-unknown-field': 'A field the schema does not have (often a typo: the hint suggests the nearest name).',
  'schema-required': 'A required field is missing.',
  'schema-type': 'A value has the wrong type (a number where a string is needed, a list where a mapping is).',
  'schema-enum': 'A value is not one of the allowed values.',
  'schema-const': 'A value must be exactly one thing (apiVersion: rsync/v1, kind).',
  'schema-pattern': 'A string does not have the required form (names, durations, money, colours…).',
  'schema-choice': 'A value must take exactly one of several forms (a trigger is an event, a schedule or manual).',
  'schema-range': 'A number, string or list is too small or too large.',
  'schema-invalid': 'Any other schema rule.',
  // References
  'ref-unknown': 'A name (connection, policy, SLA, default) that is not declared.',
  'rollout-cohort':
    "A Rollout's cohorts do not add up: two of one name, a customer in two cohorts, customers and a selector together, an 'everyone else' cohort before the last, one that takes no customer (a warning).",
  'cross-customer-ref': "A customer's resource refers to another customer's connection, policy, SLA or mapping.",
  'mapping-missing': 'A mapping file that does not exist, or a path that leaves the workspace.',
  'template-unknown': 'A `uses:` entry names a template or a version that does not exist.',
  'template-params': "A template's `with:` misses a required parameter, has an unknown one, or a wrong value.",
  'template-param-unknown': 'A template uses a ${{ placeholder }} it does not declare as a parameter.',
  'template-parameters-invalid': "A template's spec.parameters is not a valid JSON Schema.",
  'template-patch-unknown': 'A `uses:` entry patches a flow the template does not have.',
  'environment-unknown': 'An environment (in --env or an overlay) that rsync.yaml does not declare.',
  'approvals-ignored': 'An environment sets approvals but not requiresApproval: true, so they do nothing.',
  'limits-flow-concurrency':
    "A flow's concurrency (backfill windows at once) is above its customer's limits.concurrency, which holds instead.",
  'oidc-insecure': "The console's OpenID Connect issuer or redirect URL is http:// on a machine other than this one.",
  // Connectors and capabilities
  'connector-unknown': 'A connection names a connector type rsync does not have.',
  'connection-settings': "A connection's settings do not fit its connector (unknown or missing setting, wrong value).",
  'connection-warning':
    "A connection's settings fit, but its connector warns of them (an API version past its vendor's support).",
  'source-cannot-read': 'The source connection cannot read the stream the flow asks for.',
  'target-cannot-write': 'The target connection cannot write the entity, or not from that canonical entity.',
  'event-unknown': 'The source connector sends no webhook of that topic.',
  'event-reference':
    'A trigger topic whose delivery carries only a reference to the record (ids, a state), not the record: the mapping would see the summary.',
  'event-stream-mismatch': "The trigger's event carries records of another stream than the flow's source.",
  'target-schema-changed':
    "A flow's target no longer fits what it writes (a field it writes dropped, a field it does not write now required, a type changed): the schema guard paused the flow before its first write.",
  // Mappings and schedules
  'jsonata-syntax': 'A mapping or idempotency key is not valid JSONata (reported at the line and column inside it).',
  'key-constant': 'An idempotency key that reads nothing of the source record: every record would get the same key.',
  'reconciliation-unwritten':
    "A Reconciliation reads back an entity of a connection that none of its customer's flows writes (it has no target ids to read).",
  'impact-dead-letters':
    '`plan --impact`: the proposed revision of a flow would dead-letter sampled records that pass today (an error unless acknowledged).',
  'impact-key-change':
    '`plan --impact`: sampled records would get another idempotency key, so the target would get duplicates (an error unless acknowledged).',
  'mapping-nondeterministic': 'A mapping calls $now(), $millis() or $random(): re-delivery would write again.',
  'cron-invalid': 'A schedule is not a valid 5-field cron expression.',
  'timezone-invalid': 'A time zone is not an IANA name (America/Chicago, Europe/Berlin, UTC).',
  'mapping-untested':
    "A flow's mapping that no MappingTest covers (a warning; an error with `validation: { requireMappingTests: true }` in rsync.yaml, none with `untestedMappings: off`).",
  'sla-unreachable': "The trigger cannot meet the SLA's freshness (a daily schedule for a 15-minute SLA).",
  // Governance
  'ownership-violation': 'A flow writes an entity or field from a system the policy says does not own it.',
  'pii-forbidden-target':
    "A mapping's output field carries data read from a PII path the policy names (through variables, functions, & or conditionals) to a target the policy forbids.",
  'pii-lineage-undecided':
    'A mapping reads what may be PII in a way lineage cannot follow ($lookup with a key known at run time, $eval, $spread…), for a target the policy keeps PII from.',
  'secret-literal': 'A secret written as a value instead of `{ secretRef: "env:NAME" }`.',
  'secret-scope':
    "A secret reference outside its document's scope (rsync.yaml `spec.secrets.scopes`): a customer's naming another customer's secret, or a partner-wide one naming a customer's.",
  'secret-manager-unconfigured':
    'A `vault:`, `aws:` or `gcp:` secret reference when rsync.yaml configures no such secret manager (`spec.secrets.<scheme>`).',
  'secret-file-path':
    'A `file:` secret reference that is not a relative path inside the secrets folder rsync.yaml declares (`spec.secrets.folder`), or one made when no folder is declared.',
  // Text
  'text-unstorable':
    'A key, a value or a mapping holds a NUL character or half of a surrogate pair, which PostgreSQL cannot store.',
};
