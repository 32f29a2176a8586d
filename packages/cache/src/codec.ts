/**
 * How values travel to and from Redis. Redis stores bytes; a codec turns the loader's value into
 * a string or Buffer and the stored bytes back into a value. Text is the default.
 */
export interface Codec<T> {
  encode(value: T): string | Buffer;
  decode(raw: Buffer): T;
}

const text: Codec<string> = {
  encode(value) {
    if (typeof value !== 'string') {
      throw new TypeError(`the text codec stores strings, the loader returned ${typeof value}: pass codec: codecs.json() or codecs.buffer`);
    }
    return value;
  },
  decode: (raw) => raw.toString('utf8'),
};

const buffer: Codec<Buffer> = {
  encode(value) {
    if (!Buffer.isBuffer(value)) {
      throw new TypeError(`the buffer codec stores Buffers, the loader returned ${typeof value}`);
    }
    return value;
  },
  decode: (raw) => raw,
};

/** JSON text; the loader must return a JSON-serialisable value (null is fine, undefined is not). */
function json<T>(): Codec<T> {
  return {
    encode(value) {
      const encoded = JSON.stringify(value) as string | undefined;
      if (encoded === undefined) {
        throw new TypeError(`the json codec cannot store ${typeof value}: return null or a JSON value from the loader`);
      }
      return encoded;
    },
    decode: (raw) => JSON.parse(raw.toString('utf8')) as T,
  };
}

export const codecs = { text, buffer, json };
