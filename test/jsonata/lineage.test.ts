/**
 * Lineage (engine/jsonata/lineage.ts): which input paths reach each output field, through every construct the PII
 * check relies on, what does not carry a value, what is undecided, and where each path is read in the text.
 */
import { describe, expect, it } from 'vitest';
import { compile, lineage, type Lineage } from '../../engine/jsonata/index.js';
import { lineageOfAst } from '../../engine/jsonata/lineage.js';

function lineageOf(text: string): Lineage {
  const c = compile(text);
  if (!c.ok) throw new Error(c.problem.message);
  return lineage(c.expr, text);
}

/** Output field → its input paths (an undecided one suffixed with `?`), sorted. */
function flows(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of lineageOf(text).fields)
    out[f.field] = [...new Set(f.sources.map((s) => (s.undecided ? `${s.path}?` : s.path)))].sort();
  return out;
}

describe('lineage: what flows into each output field', () => {
  it('follows path steps, nested objects and a path into array items', () => {
    expect(
      flows(`{
        "id": $string(id),
        "customer": { "mail": customer.email, "name": customer.first_name },
        "lines": [line_items.{ "sku": sku, "qty": quantity }]
      }`),
    ).toEqual({
      id: ['id'],
      'customer.mail': ['customer.email'],
      'customer.name': ['customer.first_name'],
      'lines.qty': ['line_items.quantity'],
      'lines.sku': ['line_items.sku'],
    });
  });

  it('follows & and arithmetic, both sides', () => {
    expect(flows(`{ "note": email & " " & shipping_address.address1, "gross": net + tax * 2 }`)).toEqual({
      note: ['email', 'shipping_address.address1'],
      gross: ['net', 'tax'],
    });
  });

  it('follows variables bound with :=, a variable of an object, and a focus variable (@$l)', () => {
    expect(
      flows(`(
        $contact := customer.email;
        $ship := shipping_address;
        $parts := { "first": customer.first_name };
        {
          "ref": $contact,
          "city": $ship.city,
          "first": $parts.first,
          "skus": line_items@$l.$l.sku
        }
      )`),
    ).toEqual({
      ref: ['customer.email'],
      city: ['shipping_address.city'],
      first: ['customer.first_name'],
      skus: ['line_items.sku'],
    });
  });

  it('a block keeps its variables to itself', () => {
    expect(flows(`( $x := id; { "a": ($x := email; $x), "b": $x } )`)).toEqual({ a: ['email'], b: ['id'] });
  });

  it('carries data through the built-ins that transform it', () => {
    const f = flows(`{
      "a": $string(id), "b": $uppercase(email), "c": $join(tags, ","), "d": $substring(phone, 0, 3),
      "e": $lowercase($trim(name)), "f": $sum(line_items.price), "g": $split(address, " ")[0],
      "h": $replace(note, "x", email)
    }`);
    expect(f).toEqual({
      a: ['id'],
      b: ['email'],
      c: ['tags'],
      d: ['phone'],
      e: ['name'],
      f: ['line_items.price'],
      g: ['address'],
      h: ['email', 'note'],
    });
  });

  it('evaluates the expression’s own lambdas with their arguments, closures included', () => {
    expect(
      flows(`(
        $mask := function($s) { $substring($s, 0, 2) & "***" };
        $greet := function($p) { "Dear " & $p & " " & customer.last_name };
        $twice := function($f, $v) { $f($f($v)) };
        { "a": $mask(email), "b": $greet(customer.first_name), "c": $twice($uppercase, phone), "d": $mask("x") }
      )`),
    ).toEqual({
      a: ['email'],
      b: ['customer.first_name', 'customer.last_name'],
      c: ['phone'],
    });
  });

  it('stops following a recursion, and says so', () => {
    const f = flows(`(
      $up := function($s, $n) { $n = 0 ? $s : $up($s & "!", $n - 1) };
      { "a": $up(email, 3) }
    )`);
    expect(f.a).toContain('email');
    expect(f.a).toContain('email?');
  });

  it('takes both branches of a condition, not its test', () => {
    expect(
      flows(`{
        "contact": phone ? phone : email,
        "tier": total > 100 ? "gold" : "silver",
        "name": email ? $substringBefore(email, "@") : "anonymous",
        "x": email ?? phone,
        "y": nickname ?: first_name
      }`),
    ).toEqual({
      contact: ['email', 'phone'],
      name: ['email'],
      x: ['email', 'phone'],
      y: ['first_name', 'nickname'],
    });
  });

  it('follows $map and $reduce through their lambdas; $filter gives items, not its test', () => {
    expect(
      flows(`{
        "a": $map(line_items, function($l) { $l.sku & "-" & $l.title }),
        "b": $filter(line_items, function($l) { $l.price > 0 }).sku,
        "c": $reduce(line_items, function($acc, $l) { $acc & $l.name }, ""),
        "d": $sort(line_items, function($x, $y) { $x.price > $y.price }).id
      }`),
    ).toEqual({
      a: ['line_items.sku', 'line_items.title'],
      b: ['line_items.sku'],
      c: ['line_items.name'],
      d: ['line_items.id'],
    });
  });

  it('follows the ~> chain, into built-ins and lambdas', () => {
    expect(
      flows(`(
        $clean := function($s) { $trim($s) };
        { "a": email ~> $lowercase() ~> $clean, "b": tags ~> $join(", "), "c": name ~> $uppercase }
      )`),
    ).toEqual({ a: ['email'], b: ['tags'], c: ['name'] });
  });

  it('an operand under a comparison carries nothing, whatever operators are below it', () => {
    expect(flows(`{ "a": (email & "x") = other, "b": id & (email = other), "c": -(price) }`)).toEqual({
      b: ['id'],
      c: ['price'],
    });
  });

  it('a tree nested deeper than the stack is undecided, not a crash', () => {
    // Deeper than jsonata's own parser goes, so built by hand: 200,000 blocks around a path.
    let ast: unknown = { type: 'path', steps: [{ type: 'name', value: 'email', position: 5 }] };
    for (let i = 0; i < 200_000; i++) ast = { type: 'block', expressions: [ast], position: 1 };
    const l = lineageOfAst(ast, 'email');
    expect(l.fields).toHaveLength(1);
    expect(l.fields[0].sources).toMatchObject([{ path: '', undecided: 'the expression nests too deeply to follow' }]);
  });

  it('a chain of thousands of terms keeps every one of them (none dropped past a bound)', () => {
    const terms = Array.from({ length: 3000 }, (_, i) => `f${i}`);
    const f = flows(`{ "a": ${terms.join(' & ')} & customer.email }`);
    expect(f.a).toHaveLength(3001);
    expect(f.a).toContain('customer.email');
  });

  it('what only counts, tests or compares a value carries none of it', () => {
    expect(
      flows(`{
        "emails": $count(customer.email), "has": $exists(email), "b": $boolean(phone), "same": email = other_email,
        "both": email and phone, "len": $length(email), "t": $type(phone), "in": email in blocked,
        "gift": $contains(note, "gift"), "n": $not(email), "ok": "yes"
      }`),
    ).toEqual({});
  });

  it('a filter predicate chooses items and is not data; a sort key neither', () => {
    expect(flows(`{ "p": line_items[sku = customer.email].price, "s": (line_items^(>email)).id }`)).toEqual({
      p: ['line_items.price'],
      s: ['line_items.id'],
    });
  });

  it('$ is the context, $$ the record, % the parent', () => {
    expect(
      flows(`{
        "all": $,
        "lines": line_items.{ "sku": $.sku, "order": $$.name, "parent": %.number }
      }`),
    ).toEqual({ all: [''], 'lines.order': ['name'], 'lines.parent': ['number'], 'lines.sku': ['line_items.sku'] });
  });

  it('an expression that is not an object: the whole output', () => {
    expect(flows(`$uppercase(email)`)).toEqual({ '': ['email'] });
    expect(flows(`email.$uppercase()`)).toEqual({ '': ['email'] });
  });

  it('$merge and $lookup with a literal key are followed', () => {
    expect(
      flows(`{ "m": $merge([customer, { "x": 1 }]), "l": $lookup(customer, "email"), "k": $lookup($, "phone") }`),
    ).toEqual({ m: ['customer'], l: ['customer.email'], k: ['phone'] });
  });

  it('marks what it cannot decide, rather than guess', () => {
    const f = flows(`(
      $pick := function($f) { $f(customer) };
      {
        "dyn": $lookup(customer, field_name),
        "ev": $eval(template_text),
        "sp": $spread(customer),
        "ks": $keys(customer),
        "each": $each(customer, function($v, $k) { $v }),
        "call": $pick(function($c) { $c.email }),
        "fn": $unknownfn(email)
      }
    )`);
    expect(f.dyn).toEqual(['customer.*?']);
    expect(f.ev).toEqual(['?', 'template_text?']);
    expect(f.sp).toEqual(['customer.*?']);
    expect(f.ks).toEqual(['customer.*?']);
    expect(f.each).toEqual(['customer.*?']);
    expect(f.call).toEqual(['customer.email']);
    expect(f.fn).toEqual(['email?']);
  });

  it('a key computed at run time is the output field *', () => {
    expect(flows(`{ "a": { key_field: email }, "g": line_items{ sku: price } }`)).toEqual({
      'a.*': ['email'],
      'g.*': ['line_items.price'],
    });
  });

  it('places every path where it is read: line and column of its start, offsets of the span', () => {
    const text = `(\n  $c := customer.email;\n  {\n    "note": $c & " " & \`ship to\`.city\n  }\n)`;
    const [note] = lineageOf(text).fields;
    expect(note.field).toBe('note');
    expect(note.line).toBe(4);
    expect(note.column).toBe(13);
    const [mail, city] = note.sources;
    expect(mail).toMatchObject({ path: 'customer.email', line: 2, column: 9, via: ['$c', '&'] });
    expect(text.slice(mail.start, mail.end)).toBe('customer.email');
    expect(city).toMatchObject({ path: 'ship to.city', line: 4, column: 24, via: ['&'] });
    expect(text.slice(city.start, city.end)).toBe('`ship to`.city');
  });

  it('a deep or large expression is analysed without overflowing', () => {
    const deep = `${'('.repeat(300)}{ "a": email }${')'.repeat(300)}`;
    expect(flows(deep)).toEqual({ a: ['email'] });
    const wide = `{ ${Array.from({ length: 1000 }, (_, i) => `"f${i}": a${i} & b${i}`).join(', ')} }`;
    const f = flows(wide);
    expect(Object.keys(f)).toHaveLength(1000);
    expect(f.f999).toEqual(['a999', 'b999']);
  });
});
