/**
 * jsonata's own engine, compiled once per text with a syntax error as a value: the character it points at, and its
 * line and column.
 */
import jsonata from 'jsonata';

export type Expression = ReturnType<typeof jsonata>;

export interface JsonataProblem {
  /** 0-based character index in the expression text. */
  index: number;
  code: string;
  message: string;
}

export type Compiled = { ok: true; expr: Expression } | { ok: false; problem: JsonataProblem };

interface JsonataError {
  code?: string;
  position?: number;
  token?: string;
  message?: string;
}

/**
 * Compiled expressions by text: 10,000 flows share a few dozen key expressions, and customers copy mappings.
 * Bounded in count and in the texts' size (a parsed mapping holds many times its text's size in closures), so a long
 * `rsync watch`, or the fuzzer's tens of thousands of mutated mappings, does not keep every version it has seen.
 */
const compiledByText = new Map<string, Compiled>();
const MAX_CACHED = 20_000;
const MAX_CACHED_CHARS = 4_000_000;
let cachedChars = 0;

/** Compile an expression (once per distinct text); a syntax error is returned, not thrown. */
export function compile(text: string): Compiled {
  let hit = compiledByText.get(text);
  if (!hit) {
    if (compiledByText.size >= MAX_CACHED || cachedChars + text.length > MAX_CACHED_CHARS) {
      compiledByText.clear();
      cachedChars = 0;
    }
    hit = compileUncached(text);
    compiledByText.set(text, hit);
    cachedChars += text.length;
  }
  return hit;
}

function compileUncached(text: string): Compiled {
  try {
    return { ok: true, expr: jsonata(text) };
  } catch (e) {
    const err = e as JsonataError;
    return {
      ok: false,
      problem: { index: errorIndex(text, err), code: err.code ?? 'S0000', message: err.message ?? String(e) },
    };
  }
}

/**
 * The character an error points at. jsonata's `position` is the index just after the offending token, whose text
 * is `token`, except for a string literal (`token` is its value, without the quotes) and the end of the expression
 * (`token` is "(end)": point just after the last token, not past trailing comments and blank lines).
 */
function errorIndex(text: string, err: JsonataError): number {
  const position = Math.min(text.length, err.position ?? 0);
  if (err.token === '(end)') {
    let end = text.length;
    for (;;) {
      while (end > 0 && /\s/.test(text[end - 1])) end--;
      if (!text.slice(0, end).endsWith('*/')) break;
      const open = text.lastIndexOf('/*', end - 2);
      if (open < 0) break;
      end = open;
    }
    return end;
  }
  const quote = text[position - 1];
  if ((quote === '"' || quote === "'") && typeof err.token === 'string') {
    // Back to the opening quote: the first unescaped quote of that kind before the closing one.
    for (let i = position - 2; i >= 0; i--) {
      if (text[i] !== quote) continue;
      let backslashes = 0;
      for (let j = i - 1; j >= 0 && text[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 0) return i;
    }
  }
  const tokenLength = typeof err.token === 'string' ? err.token.length : 1;
  return Math.max(0, Math.min(text.length, position - tokenLength));
}

/**
 * `text` and an index in it → 1-based line and column. CRLF and a lone CR (old Mac files) end a line as LF does, so
 * that a file gives the same positions whatever its line endings.
 */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < index && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      last = i;
    }
  }
  return { line, column: index - last };
}
