/**
 * JSON parsing that loses no integer. Debezium writes int8 (and epoch micros/nanos) as JSON
 * numbers; `JSON.parse` rounds those beyond 2^53 (9007199254740993 becomes ...992), which would
 * render the key of a different row. Pure.
 *
 * Integers outside Number's safe range come back as `bigint`; every other number as `number`
 * (a fraction or exponent means a float, which a double represents as exactly as the producer's
 * double did). Anything else is ordinary JSON. Strict: RFC 8259 only, with the position of the
 * first error, like `JSON.parse`.
 *
 * Fast path: an integer beyond 2^53 needs at least 16 digits in a row, so a text without such a
 * run goes to the native `JSON.parse` (same result, several times faster).
 */

export type LosslessJson = string | number | bigint | boolean | null | LosslessJson[] | { [k: string]: LosslessJson };

const LONG_DIGIT_RUN = /\d{16}/;

export class JsonSyntaxError extends SyntaxError {
  override readonly name = 'JsonSyntaxError';
}

export function parseJsonLossless(text: string): LosslessJson {
  if (!LONG_DIGIT_RUN.test(text)) return JSON.parse(text) as LosslessJson;
  return new Parser(text).parseDocument();
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  private i = 0;

  constructor(private readonly text: string) {}

  parseDocument(): LosslessJson {
    const value = this.value();
    this.space();
    if (this.i !== this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(why: string): never {
    throw new JsonSyntaxError(`${why} at position ${this.i}`);
  }

  private space(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i += 1;
    }
  }

  private value(): LosslessJson {
    this.space();
    const c = this.text[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'n') return this.literal('null', null);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    return this.fail(c === undefined ? 'unexpected end of JSON input' : `unexpected character ${JSON.stringify(c)}`);
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.i)) this.fail(`invalid literal, expected ${word}`);
    this.i += word.length;
    return value;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail('invalid number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  private string(): string {
    const t = this.text;
    this.i += 1;
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string');
      if (c !== 0x5c) {
        this.i += 1;
        continue;
      }
      out += t.slice(start, this.i);
      const e = t[this.i + 1];
      if (e === 'u') {
        const hex = t.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else {
        const ch = e === undefined ? undefined : ESCAPES[e];
        if (ch === undefined) this.fail('invalid escape');
        out += ch;
        this.i += 2;
      }
      start = this.i;
    }
    out += t.slice(start, this.i);
    this.i += 1;
    return out;
  }

  private array(): LosslessJson[] {
    this.i += 1;
    const out: LosslessJson[] = [];
    this.space();
    if (this.text[this.i] === ']') {
      this.i += 1;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.space();
      const c = this.text[this.i];
      this.i += 1;
      if (c === ']') return out;
      if (c !== ',') {
        this.i -= 1;
        this.fail('expected "," or "]" in array');
      }
    }
  }

  private object(): { [k: string]: LosslessJson } {
    this.i += 1;
    const out: { [k: string]: LosslessJson } = {};
    this.space();
    if (this.text[this.i] === '}') {
      this.i += 1;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.i] !== '"') this.fail('expected a property name');
      const key = this.string();
      this.space();
      if (this.text[this.i] !== ':') this.fail('expected ":" after a property name');
      this.i += 1;
      // defineProperty: a "__proto__" key is data, as with JSON.parse.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.space();
      const c = this.text[this.i];
      this.i += 1;
      if (c === '}') return out;
      if (c !== ',') {
        this.i -= 1;
        this.fail('expected "," or "}" in object');
      }
    }
  }
}
