/**
 * JSON text → value without losing a number: the one parse of every source record, however it came (a webhook
 * body, a sandbox or postgres row, an HTTP response, a line of a file). JSON.parse turns each number into a double,
 * so Shopify's order id 820982911946154508 would become 820982911946154500, and two refunds whose ids differ in the
 * last digits would share one idempotency key.
 */

/**
 * Where a number token that may not survive a double could be: a run of 16 digits and dots (a mantissa of 15
 * significant digits or fewer always does: DBL_DIG is 15), or an exponent of three digits (1e400). Both are of
 * fixed length, so V8 finds them by skipping (several GB/s, against JSON.parse's 300 MB/s); a run inside a string
 * (a hash, Shopify's gid://shopify/Order/820982911946154508) is then told apart by what precedes it.
 */
const LONG_RUN = new RegExp('[0-9.]'.repeat(16), 'g');
const EXPONENT = /[0-9][eE][0-9+-][0-9][0-9]/g;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LONG_EXPONENT = /[eE][+-]?\d{3}/;

/**
 * JSON.parse, except that a number whose double would not print back as the same number is kept as a string of
 * its exact text: an integer outside ±(2^53 − 1) ("820982911946154508", "-9007199254740993"), a decimal with more
 * digits than a double holds ("0.1000000000000000055511151231257827"), one that overflows or underflows ("1e400").
 * Every other value is what JSON.parse gives (-0 stays -0, 1.5e300 a number, 12.50 is 12.5), and invalid text
 * throws JSON.parse's own SyntaxError, with its position in `text`.
 */
export function parseJsonLossless(text: string): unknown {
  if (!suspect(text)) return JSON.parse(text);
  const quoted = quoteInexactNumbers(text);
  if (quoted === text) return JSON.parse(text);
  try {
    return JSON.parse(quoted);
  } catch (e) {
    // Quoting a number where a value stands keeps valid text valid and invalid text invalid; the error is the
    // original text's, so that its position (and message) is where the problem is in what was read.
    JSON.parse(text);
    throw e;
  }
}

/**
 * Whether `text` may hold a number token with 16 or more mantissa characters or an exponent of 3 or more digits: a
 * number with fewer than 16 and an exponent below 100 has at most 15 significant digits within a double's normal
 * range, and prints back as itself. A candidate counts only where a number could start: at the start of the text
 * or after `:`, `[`, `,` or white space (with its minus sign), which digits inside a string seldom are.
 */
function suspect(text: string): boolean {
  LONG_RUN.lastIndex = 0;
  for (let m = LONG_RUN.exec(text); m; m = LONG_RUN.exec(text)) {
    // The leftmost match starts its run: the character before it is no digit or dot.
    if (startsNumber(text, m.index)) return true;
    let end = LONG_RUN.lastIndex;
    while (isDigitOrDot(text.charCodeAt(end))) end++;
    LONG_RUN.lastIndex = end;
  }
  EXPONENT.lastIndex = 0;
  for (let m = EXPONENT.exec(text); m; m = EXPONENT.exec(text)) {
    let start = m.index;
    while (start > 0 && isDigitOrDot(text.charCodeAt(start - 1))) start--;
    if (startsNumber(text, start)) return true;
    EXPONENT.lastIndex = m.index + 1;
  }
  return false;
}

const isDigitOrDot = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2e;

/** Whether a number token could start at `i` (its minus sign, if any, just before): where a JSON value may. */
function startsNumber(text: string, i: number): boolean {
  if (i > 0 && text.charCodeAt(i - 1) === 0x2d) i--;
  if (i === 0) return true;
  const c = text.charCodeAt(i - 1);
  return c === 0x3a || c === 0x2c || c === 0x5b || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Whether the double of a JSON number token prints back as the same number (an integer only when it is safe). */
function exactAsDouble(token: string): boolean {
  const d = Number(token);
  if (!/[.eE]/.test(token)) return Number.isSafeInteger(d);
  if (!Number.isFinite(d)) return false;
  return decimal(token) === decimal(String(d));
}

/** A decimal number's value as `<significant digits>e<exponent>` (0 for zero), whatever its notation. */
function decimal(s: string): string {
  const start = s.charCodeAt(0) === 0x2d ? 1 : 0;
  const e = s.search(/[eE]/);
  const mantissa = e < 0 ? s.slice(start) : s.slice(start, e);
  const dot = mantissa.indexOf('.');
  const whole = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let digits = whole + (dot < 0 ? '' : mantissa.slice(dot + 1));
  let exp = (e < 0 ? 0 : Number(s.slice(e + 1))) + whole.length;
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++;
  digits = digits.slice(lead).replace(/0+$/, '');
  exp -= lead;
  return digits ? `${digits}e${exp}` : '0';
}

const OBJECT = 1;
const ARRAY = 2;

/**
 * `text` with every number token that stands as a value (after `:`, `[`, a `,` in an array, or alone) and is not
 * exact as a double wrapped in quotes. Strings are skipped whole (indexOf to the closing quote); object keys are
 * never touched, so `{12345678901234567890: 1}` stays as invalid as it was.
 */
function quoteInexactNumbers(text: string): string {
  const open: number[] = [];
  let out = '';
  let copied = 0;
  let value = true; // a value may start here
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = endOfString(text, i);
      value = false;
      continue;
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const token = value ? NUMBER.exec(text)?.[0] : undefined;
      if (!token) {
        i++;
        value = false;
        continue;
      }
      if ((token.length >= 16 || LONG_EXPONENT.test(token)) && !exactAsDouble(token)) {
        out += `${text.slice(copied, i)}"${token}"`;
        copied = i + token.length;
      }
      i += token.length;
      value = false;
      continue;
    }
    if (c === 0x7b) open.push(OBJECT);
    else if (c === 0x5b) open.push(ARRAY);
    else if (c === 0x7d || c === 0x5d) open.pop();
    value = c === 0x3a || c === 0x5b || (c === 0x2c && open[open.length - 1] === ARRAY);
    i++;
  }
  return copied ? out + text.slice(copied) : text;
}

/** The index after the string that opens at `i` (or the text's length when it never closes). */
function endOfString(text: string, i: number): number {
  let j = text.indexOf('"', i + 1);
  while (j > 0) {
    let slashes = 0;
    while (text.charCodeAt(j - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return j + 1;
    j = text.indexOf('"', j + 1);
  }
  return text.length;
}
