// Golden bytes from real clients (test/fixtures/wire, copied from ../shared/wire-corpus by
// scripts/copy-wire-corpus.ts). Requests are byte for byte what kcat, kafka-python, confluent-kafka-python,
// kafkajs, @platformatic/kafka, confluent-kafka-javascript (librdkafka 2.15.1) and franz-go sent; responses come
// from franz-go's kfake and only show what decodes.
//
// Two kinds of frame need care (the corpus README, "Modern clients"):
// - versions newer than the Kafka 3.9 schemas: the schemas here were extended past 3.9 (Produce 13, Fetch 18,
//   ListOffsets 11, Metadata 13, OffsetCommit/OffsetFetch 10, EndTxn 5, ConsumerGroupHeartbeat 1, DescribeGroups 6,
//   ConsumerGroupDescribe 1, TxnOffsetCommit 5; sources in scripts/kafka-protocol/README.md), so those frames
//   decode like the others. A frame at a version still above the schemas would come only from the modern clients
//   talking to the recording broker's Kafka 4.x-like profile (none is left).
// - librdkafka 2.15.1's all-topics Metadata v12 and v13 requests carry 3 bytes after their last field; the decoder
//   reads the fields of the version and leaves those bytes, which dispatch ignores as Kafka does.
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
  brokerProfile: string;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  requestHeaderVersion: number;
  responseHeaderVersion: number;
  correlationId: number;
  clientId: string | null;
}

const pairs = (JSON.parse(fs.readFileSync(path.join(fixtures, 'index.json'), 'utf8')) as { pairs: Pair[] }).pairs;

/** Requests known to carry bytes after their last field, and how many. */
const TRAILING_BYTES: ReadonlyMap<string, number> = new Map([
  ['metadata/confluent-kafka-javascript-0065-v12-request.hex', 3],
  ['metadata/confluent-kafka-javascript-0006-v13-request.hex', 3],
]);

function load(file: string): Buffer {
  return Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex');
}

describe('wire corpus: every captured request decodes, consumes all bytes and re-encodes identically', () => {
  it('has all 366 pairs from seven clients', () => {
    expect(pairs).toHaveLength(366);
    expect(new Set(pairs.map((p) => p.client)).size).toBe(7);
  });

  for (const p of pairs) {
    const codec = API_CODECS.get(p.apiKey);
    const newerThanSchemas = codec !== undefined && p.apiVersion > codec.maxVersion;

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
      expect(codec).toBeDefined();
      if (newerThanSchemas) {
        // Only a modern client, talking to the recording broker's Kafka 4.x-like profile, sends these.
        expect(['confluent-kafka-javascript', 'franz-go']).toContain(p.client);
        expect(p.brokerProfile).toBe('kfake-default');
        return;
      }
      expect(requestHeaderVersion(p.apiKey, p.apiVersion)).toBe(p.requestHeaderVersion);
      const body = codec!.readRequest(r, p.apiVersion);
      const trailing = TRAILING_BYTES.get(p.request) ?? 0;
      expect(r.remaining()).toBe(trailing);

      const w = new Writer();
      writeRequestHeader(w, header, header.headerVersion);
      codec!.writeRequest(w, p.apiVersion, body);
      expect(w.toBuffer().toString('hex')).toBe(bytes.subarray(0, bytes.length - trailing).toString('hex'));
    });

    if (newerThanSchemas) continue;
    it(`${p.response}`, () => {
      const bytes = load(p.response);
      const r = new Reader(bytes);
      expect(responseHeaderVersion(p.apiKey, p.apiVersion)).toBe(p.responseHeaderVersion);
      expect(readResponseHeader(r, p.responseHeaderVersion)).toEqual({ correlationId: p.correlationId });
      const body = codec!.readResponse(r, p.apiVersion);
      expect(r.remaining()).toBe(0);

      const w = new Writer();
      writeResponseHeader(w, p.correlationId, p.responseHeaderVersion);
      codec!.writeResponse(w, p.apiVersion, body);
      expect(w.toBuffer().toString('hex')).toBe(bytes.toString('hex'));
    });
  }
});
