import { describe, expect, it } from 'vitest';
import { API_CODECS } from '../../src/protocol/generated/index.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

describe('every API round-trips at every version from make…() defaults', () => {
  for (const codec of API_CODECS.values()) {
    it(`${codec.name} (key ${codec.apiKey}) v${codec.minVersion}-${codec.maxVersion}`, () => {
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        for (const dir of ['Request', 'Response'] as const) {
          const m = dir === 'Request' ? codec.makeRequest() : codec.makeResponse();
          const w = new Writer();
          (dir === 'Request' ? codec.writeRequest : codec.writeResponse)(w, v, m);
          const buf = w.toBuffer();
          const r = new Reader(buf);
          const back = (dir === 'Request' ? codec.readRequest : codec.readResponse)(r, v);
          expect(r.offset, `${codec.name}${dir} v${v} consumes all bytes`).toBe(buf.length);
          expect(back, `${codec.name}${dir} v${v}`).toEqual(m);
        }
      }
    });
  }
});
