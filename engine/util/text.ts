/**
 * Text PostgreSQL cannot store. Its `text` refuses the NUL character (U+0000) and its `jsonb` refuses the escape
 * `\u0000`; both refuse half of a UTF-16 surrogate pair (a lone `\uD800`), which is no character at all. Such text
 * must be refused where it comes in — a diagnostic at validation, a 400 to a webhook's sender — instead of failing
 * later, at apply or at every retry.
 */

/** A NUL, or a surrogate without its other half (by UTF-16 code unit: no `u` flag). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL is what this looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Where `s` first holds a character PostgreSQL cannot store, or -1. */
export function unstorableIndex(s: string): number {
  const m = UNSTORABLE.exec(s);
  return m ? m.index : -1;
}

/** What the character at `s[index]` is, for messages: `a NUL character (\u0000)`, `a lone surrogate (\uD800)`. */
export function describeUnstorable(s: string, index: number): string {
  const code = s.charCodeAt(index);
  const hex = `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code === 0 ? `a NUL character (${hex})` : `half of a surrogate pair (${hex})`;
}

/** A string of a JSON-like value that PostgreSQL cannot store: its path, whether it is a key, and where in it. */
export interface UnstorableText {
  path: (string | number)[];
  /** The problem is in the key at `path` (its last element), not in its value. */
  key: boolean;
  /** Index of the character in the string. */
  index: number;
  /** What the character is (describeUnstorable). */
  what: string;
}

/** Each key or string value of `value` (objects, arrays, strings) that PostgreSQL cannot store, in order. */
export function* unstorableTexts(value: unknown, path: (string | number)[] = []): Generator<UnstorableText> {
  if (typeof value === 'string') {
    const index = unstorableIndex(value);
    if (index >= 0) yield { path, key: false, index, what: describeUnstorable(value, index) };
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* unstorableTexts(value[i], [...path, i]);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const index = unstorableIndex(k);
      if (index >= 0) yield { path: [...path, k], key: true, index, what: describeUnstorable(k, index) };
      yield* unstorableTexts(v, [...path, k]);
    }
  }
}

/** The first key or string value of `value` that PostgreSQL cannot store. */
export function findUnstorable(value: unknown): UnstorableText | undefined {
  for (const hit of unstorableTexts(value)) return hit;
  return undefined;
}

/** `s` with its control characters and lone surrogates as \uXXXX escapes: safe to print in a message. */
export function printable(s: string): string {
  return s.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
    /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}

/** A dotted path for messages, printable: `line_items[0].title`, `metadata.annotations.owner\u0000`. */
export function dottedPath(path: (string | number)[]): string {
  return (
    path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? printable(p) : `.${printable(p)}`)).join('') ||
    '(the value)'
  );
}

/**
 * `value` with every character PostgreSQL cannot store replaced by U+FFFD (�), in keys and strings: how a record
 * that holds one is still kept (a dead letter's payload), its error saying where the character was. The value
 * itself when it has none (no copy).
 */
export function storable<T>(value: T): T {
  if (!findUnstorable(value)) return value;
  const fix = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(new RegExp(UNSTORABLE.source, 'g'), '\uFFFD');
    if (Array.isArray(v)) return v.map(fix);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [fix(k) as string, fix(x)]));
    return v;
  };
  return fix(value) as T;
}
