/** The lossless JSON parse of every source record (engine/util/json.ts). */
import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../../engine/util/json.js';

/** What JSON.parse throws for `text`, or undefined when it parses. */
function parseError(parse: (t: string) => unknown, text: string): string | undefined {
  try {
    parse(text);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(SyntaxError);
    return (e as Error).message;
  }
}

describe('parseJsonLossless', () => {
  it('keeps integers beyond ±(2^53 − 1) as their exact digits, at any depth', () => {
    const text =
      '{"id":820982911946154508,"refunds":[{"id":820982911946154509},[-9007199254740993]],"n":9007199254740991}';
    expect(parseJsonLossless(text)).toEqual({
      id: '820982911946154508',
      refunds: [{ id: '820982911946154509' }, ['-9007199254740993']],
      n: 9007199254740991,
    });
    expect(parseJsonLossless('9007199254740993')).toBe('9007199254740993');
    // 2^53 is a double, but not a safe integer: 2^53 + 1 would parse to it too.
    expect(parseJsonLossless('[9007199254740992, -9007199254740991]')).toEqual(['9007199254740992', -9007199254740991]);
    expect(parseJsonLossless('[12345678901234567890123456789]')).toEqual(['12345678901234567890123456789']);
  });

  it('keeps numbers a double cannot hold as their text: too many digits, overflow, underflow', () => {
    expect(parseJsonLossless('[1e400, -1e400, 1e-400, 1E+999]')).toEqual(['1e400', '-1e400', '1e-400', '1E+999']);
    expect(parseJsonLossless('{"a":0.1000000000000000055511151231257827}')).toEqual({
      a: '0.1000000000000000055511151231257827',
    });
    expect(parseJsonLossless('[12345678.123456789, 9007199254740993.0, 1.00000000000000001]')).toEqual([
      '12345678.123456789',
      '9007199254740993.0',
      '1.00000000000000001',
    ]);
  });

  it('gives what JSON.parse gives for every number a double holds', () => {
    const text =
      '[-0, 0, 0.0, -0.0, 12.50, 1.5e300, 1e20, 1E-7, 0.30000000000000004, 5e-324, 1.7976931348623157e308, 123456789012345.6, 9007199254740992.0, 0.000000000000000001]';
    const v = parseJsonLossless(text) as number[];
    expect(v).toEqual(JSON.parse(text));
    expect(v.every((n) => typeof n === 'number')).toBe(true);
    expect(Object.is(v[0], -0)).toBe(true);
    expect(Object.is(parseJsonLossless('-0'), -0)).toBe(true);
  });

  it('leaves strings alone, digits, quotes, backslashes and unicode escapes included', () => {
    const text = String.raw`{"note":"id 820982911946154508 in \"text\"", "gid":"gid://shopify/Order/820982911946154508", "q":"\\", "u":"\u0022 9007199254740993 \u00e9\ud83d\ude00", "e":"3e1234", "k":12345678901234567}`;
    expect(parseJsonLossless(text)).toEqual({
      note: 'id 820982911946154508 in "text"',
      gid: 'gid://shopify/Order/820982911946154508',
      q: '\\',
      u: '" 9007199254740993 é😀',
      e: '3e1234',
      k: '12345678901234567',
    });
    // Keys are never numbers: a long run of digits as a key is a string, as it was.
    expect(parseJsonLossless('{"12345678901234567890":1}')).toEqual({ '12345678901234567890': 1 });
  });

  it('takes any JSON white space around values', () => {
    expect(parseJsonLossless(' \n\t[ 820982911946154508 ,\r\n{ "a" :\t820982911946154509 } ]\n')).toEqual([
      '820982911946154508',
      { a: '820982911946154509' },
    ]);
  });

  it('parses like JSON.parse when nothing needs keeping, whichever path it takes', () => {
    for (const text of [
      '{"a":[1,-2.5,3e4,9007199254740991,"x\\\\"],"b":{"c":null,"d":true}}',
      '{"s":" 1234567890123456 ", "t":[true,false,null], "n":1234567890123456}', // a 16-digit run: the careful path
      '"just a string"',
      '42',
      '[]',
      '{"__proto__":{"x":1},"y":[[[]]]}',
    ])
      expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
  });

  it('refuses what JSON.parse refuses, with its message and position in the original text', () => {
    for (const text of [
      '{"id": 01234567890123456789}',
      '{12345678901234567890: 1}',
      '{"a" 12345678901234567890}',
      '[820982911946154508, 820982911946154509',
      '[820982911946154508,]',
      '{"a":820982911946154508}x',
      '[1e400 1]',
      '[- 820982911946154508]',
      '[true820982911946154508]',
      '"unterminated 820982911946154508',
      '',
      '{"a":1,}',
    ]) {
      const expected = parseError(JSON.parse, text);
      expect(expected, text).toBeDefined();
      expect(parseError(parseJsonLossless, text), text).toBe(expected);
    }
  });
});
