/** jsonata's parser, for the compiler: the AST of a text, with its strings made one-byte where they can be. */
import jsonata from 'jsonata';

export type Ast = any;

/** The AST of an expression, or why it does not parse. */
export function parse(text: string): { ok: true; ast: Ast } | { ok: false; problem: string } {
  try {
    const ast = jsonata(text).ast();
    oneByteStrings(ast);
    return { ok: true, ast };
  } catch (e) {
    return { ok: false, problem: `does not parse: ${(e as Error).message}` };
  }
}

/**
 * The strings of an AST as one-byte strings wherever their characters allow. jsonata's tokenizer cuts names and
 * literals out of the expression's text, and a text with one character beyond Latin-1 (a '→' in a comment) is a
 * two-byte string in V8, and so is every piece cut from it, ASCII or not. Such a name, once used as a property key,
 * is interned as two-byte, and then every object with that key, mapped or parsed from a source, serialises to
 * two-byte JSON: twice the bytes to hash, copy between threads and send to the target, and slow paths on the way
 * (seen on the Shopify order mapping: its `discount` key made every mapped record two-byte text).
 */
function oneByteStrings(node: unknown, seen = new Set<object>()): void {
  if (node === null || typeof node !== 'object' || node instanceof RegExp || seen.has(node)) return;
  seen.add(node);
  // jsonata's nodes are plain objects or made from its symbol table (Object.create): their own members are walked
  const o = node as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === 'string') o[k] = oneByte(v);
    else oneByteStrings(v, seen);
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the range starts at U+0000 on purpose (every Latin-1 character)
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;
/** A string as a fresh one-byte string when its characters are all Latin-1 (V8 keeps what the bytes allow). */
function oneByte(s: string): string {
  return BEYOND_LATIN1.test(s) ? s : Buffer.from(s, 'latin1').toString('latin1');
}
