// Golden bytes from real clients (test/fixtures/wire, copied from ../shared/wire-corpus by
// scripts/copy-wire-corpus.ts). Requests are byte for byte what kcat, kafka-python, confluent-kafka-python,
// kafkajs and @platformatic/kafka sent; responses come from franz-go's kfake and only show what decodes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { API_CODECS } from '../../src/protocol/generated/index.js';
import { readRequestHeader, readResponseHeader, requestHeaderVersion, responseHeaderVersion, writeRequestHeader, writeResponseHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/wire');

interface Pair {
  request: string;
  response: string;
  client: string;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  requestHeaderVersion: number;
  responseHeaderVersion: number;
  correlationId: number;
  clientId: string | null;
}

const pairs = (JSON.parse(fs.readFileSync(path.join(fixtures, 'index.json'), 'utf8')) as { pairs: Pair[] }).pairs;

function load(file: string): Buffer {
  return Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex');
}

describe('wire corpus: every captured request decodes, consumes all bytes and re-encodes identically', () => {
  it('has all 210 pairs', () => {
    expect(pairs).toHaveLength(210);
  });

  for (const p of pairs) {
    it(`${p.request}`, () => {
      const bytes = load(p.request);
      const r = new Reader(bytes);
      const header = readRequestHeader(r);
      expect(header).toEqual({
        requestApiKey: p.apiKey,
        requestApiVersion: p.apiVersion,
        correlationId: p.correlationId,
        clientId: p.clientId,
        headerVersion: p.requestHeaderVersion,
      });
      expect(requestHeaderVersion(p.apiKey, p.apiVersion)).toBe(p.requestHeaderVersion);
      const codec = API_CODECS.get(p.apiKey)!;
      const body = codec.readRequest(r, p.apiVersion);
      expect(r.remaining()).toBe(0);

      const w = new Writer();
      writeRequestHeader(w, header, header.headerVersion);
      codec.writeRequest(w, p.apiVersion, body);
      expect(w.toBuffer().toString('hex')).toBe(bytes.toString('hex'));
    });

    it(`${p.response}`, () => {
      const bytes = load(p.response);
      const r = new Reader(bytes);
      expect(responseHeaderVersion(p.apiKey, p.apiVersion)).toBe(p.responseHeaderVersion);
      expect(readResponseHeader(r, p.responseHeaderVersion)).toEqual({ correlationId: p.correlationId });
      const codec = API_CODECS.get(p.apiKey)!;
      const body = codec.readResponse(r, p.apiVersion);
      expect(r.remaining()).toBe(0);

      const w = new Writer();
      writeResponseHeader(w, p.correlationId, p.responseHeaderVersion);
      codec.writeResponse(w, p.apiVersion, body);
      expect(w.toBuffer().toString('hex')).toBe(bytes.toString('hex'));
    });
  }
});
