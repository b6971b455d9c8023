/**
 * The fast parser's schema: js-yaml made to read plain scalars exactly as the `yaml` package's core schema does
 * (YAML 1.2's core schema as `yaml` implements it, node_modules/yaml/dist/schema/core/), so that a file reads the
 * same whichever parser reads it. js-yaml's own core schema differs on numbers: it reads `0b1100100` and `1_000` as
 * integers and `-.5` as a string, where YAML 1.2 (and `yaml`) read a string, a string and -0.5. Null and booleans
 * are spelt here too, with `yaml`'s tests, so that all four implicit types come from one place.
 * Proven by test/load/yaml-parsers.test.ts (a scalar corpus) and the fuzzer, which counts any disagreement.
 */
import jsyaml from 'js-yaml';

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
// The `yaml` package's tests, in its order: octal, decimal, hexadecimal integers; NaN and infinities, exponent, fraction.
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

const isInt = (s: string) => INT_OCT.test(s) || INT.test(s) || INT_HEX.test(s);

const nullType = new jsyaml.Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (data: unknown) => data === null || (typeof data === 'string' && NULL.test(data)),
  construct: () => null,
  predicate: (v: unknown) => v === null,
  represent: () => 'null',
});

const boolType = new jsyaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: unknown) => typeof data === 'string' && BOOL.test(data),
  construct: (s: string) => s[0] === 't' || s[0] === 'T',
  predicate: (v: unknown) => typeof v === 'boolean',
  represent: (v: object) => String(v),
});

const int = new jsyaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: unknown) => typeof data === 'string' && isInt(data),
  // As `yaml` does: parseInt of the digits after the prefix (so `-0` is -0 and `+7` is 7).
  construct: (s: string) =>
    INT_OCT.test(s) ? parseInt(s.slice(2), 8) : INT_HEX.test(s) ? parseInt(s.slice(2), 16) : parseInt(s, 10),
  predicate: (v: unknown) => Number.isInteger(v),
  represent: (v: object) => String(v),
});

const float = new jsyaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (data: unknown) =>
    typeof data === 'string' && (FLOAT_NAN.test(data) || FLOAT_EXP.test(data) || FLOAT.test(data)),
  construct: (s: string) =>
    FLOAT_NAN.test(s)
      ? s.slice(-3).toLowerCase() === 'nan'
        ? Number.NaN
        : s[0] === '-'
          ? Number.NEGATIVE_INFINITY
          : Number.POSITIVE_INFINITY
      : parseFloat(s),
  predicate: (v: unknown) => typeof v === 'number' && !Number.isInteger(v),
  represent: (v: object) => String(v),
});

/** YAML 1.2's core schema, as the `yaml` package reads it. */
export const CORE_SCHEMA: jsyaml.Schema = jsyaml.FAILSAFE_SCHEMA.extend({
  implicit: [nullType, boolType, int, float],
});
