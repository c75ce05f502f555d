// Hand-checked golden frames from the wire corpus, decoded into whole expected objects.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readApiVersionsRequest, readApiVersionsResponse } from '../../src/protocol/generated/api-versions.js';
import { readMetadataRequest, readMetadataResponse } from '../../src/protocol/generated/metadata.js';
import { readProduceRequest, writeProduceRequest } from '../../src/protocol/generated/produce.js';
import { readRequestHeader, readResponseHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/wire');
const load = (file: string): Buffer => Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex');

describe('golden frames decode into whole expected objects', () => {
  it('kcat ApiVersions v3 request: header v2 with a non-compact client id, then the compact software name', () => {
    const r = new Reader(load('api-versions/kcat-0001-v3-request.hex'));
    expect(readRequestHeader(r)).toEqual({
      requestApiKey: 18,
      requestApiVersion: 3,
      correlationId: 1,
      clientId: 'kcat-produce-none',
      headerVersion: 2,
    });
    expect(readApiVersionsRequest(r, 3)).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
    expect(r.remaining()).toBe(0);
  });

  it('kafka-python ApiVersions v0 request has an empty body and defaults for the v3 fields', () => {
    const r = new Reader(load('api-versions/kafka-python-0001-v0-request.hex'));
    expect(readRequestHeader(r)).toEqual({ requestApiKey: 18, requestApiVersion: 0, correlationId: 1, clientId: 'kp-admin', headerVersion: 1 });
    expect(readApiVersionsRequest(r, 0)).toEqual({ clientSoftwareName: '', clientSoftwareVersion: '' });
    expect(r.remaining()).toBe(0);
  });

  it('kafka-python Metadata v0 request with topics=[]', () => {
    const r = new Reader(load('metadata/kafka-python-0002-v0-request.hex'));
    expect(readRequestHeader(r)).toEqual({ requestApiKey: 3, requestApiVersion: 0, correlationId: 2, clientId: 'kp-admin', headerVersion: 1 });
    // Fields absent in v0 read as their defaults (AllowAutoTopicCreation defaults to true).
    expect(readMetadataRequest(r, 0)).toEqual({
      topics: [],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.remaining()).toBe(0);
  });

  it('kafka-python Metadata v0 response: one broker, no topics', () => {
    const r = new Reader(load('metadata/kafka-python-0002-v0-response.hex'));
    expect(readResponseHeader(r, 0)).toEqual({ correlationId: 2 });
    expect(readMetadataResponse(r, 0)).toEqual({
      throttleTimeMs: 0,
      brokers: [{ nodeId: 0, host: '127.0.0.1', port: 39092, rack: null }],
      clusterId: null,
      controllerId: -1,
      topics: [],
      clusterAuthorizedOperations: -2147483648,
      // v13's top-level error code (KIP-1102), at its default.
      errorCode: 0,
    });
    expect(r.remaining()).toBe(0);
  });

  it('kafkajs Produce v7 request: records is exactly the (gzip) batch bytes, as a slice of the frame', () => {
    const frame = load('produce/kafkajs-0004-v7-request.hex');
    const r = new Reader(frame);
    expect(readRequestHeader(r)).toEqual({ requestApiKey: 0, requestApiVersion: 7, correlationId: 3, clientId: 'kjs-producer', headerVersion: 1 });
    const batch = Buffer.from(
      '0000000000000000000000670000000002c3e99c56000100000002000001a2147cf47d000001a2147cf47dffffffffffffffff' +
        '000000000000000000031f8b080000000000000393616060604937e049afca2c5030609061606062493784700d415c169674' +
        '2308d7880100b31082322d000000',
      'hex',
    );
    const req = readProduceRequest(r, 7);
    expect(req).toEqual({
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      // v13's topic id (KIP-516) is at its default, the zero id, below v13.
      topicData: [{ name: 'kjs-topic', topicId: Buffer.alloc(16), partitionData: [{ index: 0, records: batch }] }],
    });
    expect(r.remaining()).toBe(0);
    const records = req.topicData[0]!.partitionData[0]!.records!;
    expect(records.buffer).toBe(frame.buffer);
    expect(records.byteOffset - frame.byteOffset).toBe(frame.length - batch.length);
  });

  it('kcat ApiVersions v3 response uses header v0 and decodes the tagged SupportedFeatures/FinalizedFeatures section', () => {
    const r = new Reader(load('api-versions/kcat-0001-v3-response.hex'));
    expect(readResponseHeader(r, 0)).toEqual({ correlationId: 1 });
    const res = readApiVersionsResponse(r, 3);
    expect(r.remaining()).toBe(0);
    expect(res.errorCode).toBe(0);
    expect(res.apiKeys.find((k) => k.apiKey === 0)).toEqual({ apiKey: 0, minVersion: 3, maxVersion: 13 });
  });

  it('a Produce request round-trips with a large batch appended by reference', () => {
    const batch = Buffer.alloc(64 * 1024, 0x5a);
    const w = new Writer();
    writeProduceRequest(w, 9, {
      transactionalId: 'tx',
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 3, records: batch }] }],
    });
    expect(w.toBuffers()).toContain(batch);
    const back = readProduceRequest(new Reader(w.toBuffer()), 9);
    expect(back.topicData[0]!.partitionData[0]!.records).toEqual(batch);
  });
});
