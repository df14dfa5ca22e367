/**
 * The Rego value text format (opa_value_dump / opa_value_parse): JSON plus
 * set literals `{1, 2}`, the empty set `set()` and non-string object keys
 * `{1: "a"}`. Objects and sets are written in OPA's sorted order, so the text
 * of a value is canonical and doubles as its identity in sets and objects.
 */
import { RegoObject, RegoSet, normaliseNumber, type RegoNumber, type Value } from './value.js';

export class ValueSyntaxError extends Error {
  override name = 'ValueSyntaxError';
}

function numberText(n: RegoNumber): string {
  if (typeof n === 'bigint') return n.toString();
  if (!Number.isFinite(n)) throw new RangeError('number is not finite');
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return BigInt(n).toString();
  return String(Object.is(n, -0) ? 0 : n);
}

/**
 * - value: the wire format, compact;
 * - json: OPA's JSON encoding (sets as arrays, non-string keys as strings);
 * - term: OPA's human-readable term text (`[1, "a"]`, `{"k": 1}`), as sprintf shows composites.
 */
type TextMode = 'value' | 'json' | 'term';

function write(v: Value, mode: TextMode): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean': return v ? 'true' : 'false';
    case 'number':
    case 'bigint': return numberText(v);
    case 'string': return JSON.stringify(v);
  }
  const comma = mode === 'term' ? ', ' : ',';
  if (Array.isArray(v)) return `[${v.map((e) => write(e, mode)).join(comma)}]`;
  if (v instanceof RegoSet) {
    const items = v.sorted().map((e) => write(e, mode));
    if (mode === 'json') return `[${items.join(comma)}]`;
    return items.length === 0 ? 'set()' : `{${items.join(comma)}}`;
  }
  const parts = v.sorted().map(([k, val]) => {
    const key = mode === 'json' && typeof k !== 'string' ? JSON.stringify(write(k, mode)) : write(k, mode);
    return `${key}${mode === 'term' ? ': ' : ':'}${write(val, mode)}`;
  });
  return `{${parts.join(comma)}}`;
}

export function serialise(v: Value): string {
  return write(v, 'value');
}

/** OPA's JSON encoding of a value (as json.marshal produces). */
export function serialiseJson(v: Value): string {
  return write(v, 'json');
}

/** OPA's term text of a value (as sprintf's %v shows composites). */
export function termText(v: Value): string {
  return write(v, 'term');
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses a JSON number text into a Rego number, exactly for big integers. */
export function parseNumberText(text: string): RegoNumber {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : normaliseNumber(BigInt(text));
  }
  const n = Number(text);
  if (!Number.isFinite(n)) throw new ValueSyntaxError(`number out of range: ${text}`);
  // A float spelling of a big integer (1e20) keeps its exact value.
  if (Number.isInteger(n) && !Number.isSafeInteger(n) && /^-?\d+(\.0*)?([eE]\+?\d+)?$/.test(text)) {
    return normaliseNumber(BigInt(n));
  }
  return n;
}

class Parser {
  private pos = 0;

  /** With `json` set, only JSON is accepted (no sets, string keys only). */
  constructor(private readonly text: string, private readonly json: boolean) {}

  parseAll(): Value {
    const v = this.value();
    this.ws();
    if (this.pos !== this.text.length) this.fail('trailing characters');
    return v;
  }

  private fail(why: string): never {
    throw new ValueSyntaxError(`invalid value text at ${this.pos}: ${why}`);
  }

  private ws(): void {
    while (this.pos < this.text.length && ' \t\r\n'.includes(this.text[this.pos] as string)) this.pos++;
  }

  private eat(s: string): boolean {
    this.ws();
    if (this.text.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  private expect(s: string): void {
    if (!this.eat(s)) this.fail(`expected ${s}`);
  }

  private value(): Value {
    this.ws();
    const c = this.text[this.pos];
    if (c === '"') return this.string();
    if (c === '[') return this.array();
    if (c === '{') return this.objectOrSet();
    if (this.eat('null')) return null;
    if (this.eat('true')) return true;
    if (this.eat('false')) return false;
    if (!this.json && this.eat('set()')) return new RegoSet();
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('unexpected character');
    this.pos += m[0].length;
    return parseNumberText(m[0]);
  }

  private string(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === '\\') this.pos += 2;
      else if (c === '"') break;
      else this.pos++;
    }
    if (this.pos >= this.text.length) this.fail('unterminated string');
    this.pos++;
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      return this.fail('invalid string');
    }
  }

  private array(): Value[] {
    this.pos++;
    const out: Value[] = [];
    if (this.eat(']')) return out;
    do out.push(this.value()); while (this.eat(','));
    this.expect(']');
    return out;
  }

  private objectOrSet(): RegoObject | RegoSet {
    this.pos++;
    if (this.eat('}')) return new RegoObject();
    const first = this.value();
    if (this.json && typeof first !== 'string') this.fail('object keys must be strings');
    if (this.json || this.eat(':')) {
      if (this.json) this.expect(':');
      const obj = new RegoObject([[first, this.value()]]);
      while (this.eat(',')) {
        const k = this.value();
        if (this.json && typeof k !== 'string') this.fail('object keys must be strings');
        this.expect(':');
        obj.set(k, this.value());
      }
      this.expect('}');
      return obj;
    }
    const set = new RegoSet([first]);
    while (this.eat(',')) set.add(this.value());
    this.expect('}');
    return set;
  }
}

export function parseValue(text: string): Value {
  return new Parser(text, false).parseAll();
}

/** Parses JSON text into a Rego value, keeping big integers exact. */
export function parseJson(text: string): Value {
  return new Parser(text, true).parseAll();
}
