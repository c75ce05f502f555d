// Golden frames of the KIP-848 APIs from real clients (test/fixtures/wire, copied from ../shared/wire-corpus):
// ConsumerGroupHeartbeat v1 from librdkafka 2.15.1 (confluent-kafka-javascript) and franz-go, ConsumerGroupDescribe
// v0 from both. Each decodes into the whole expected object and re-encodes byte for byte, requests and responses.
// franz-go's ConsumerGroupDescribe v1 (Kafka 4.0, KIP-1099) is newer than every schema this codec is built from.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { API_CODECS, ApiKey } from '../../src/protocol/generated/index.js';
import { readRequestHeader, readResponseHeader, responseHeaderVersion, writeRequestHeader, writeResponseHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/wire');
const hex = (s: string) => Buffer.from(s, 'hex');

function load(file: string): Buffer {
  return Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex');
}

function decodeRequest(file: string, apiKey: number, version: number): { body: any; reencoded: Buffer; bytes: Buffer } {
  const bytes = load(file);
  const r = new Reader(bytes);
  const header = readRequestHeader(r);
  const body = API_CODECS.get(apiKey)!.readRequest(r, version);
  expect(r.remaining()).toBe(0);
  const w = new Writer();
  writeRequestHeader(w, header, header.headerVersion);
  API_CODECS.get(apiKey)!.writeRequest(w, version, body);
  return { body, reencoded: w.toBuffer(), bytes };
}

function decodeResponse(file: string, apiKey: number, version: number): { body: any; reencoded: Buffer; bytes: Buffer } {
  const bytes = load(file);
  const r = new Reader(bytes);
  const headerVersion = responseHeaderVersion(apiKey, version);
  const header = readResponseHeader(r, headerVersion);
  const body = API_CODECS.get(apiKey)!.readResponse(r, version);
  expect(r.remaining()).toBe(0);
  const w = new Writer();
  writeResponseHeader(w, header.correlationId, headerVersion);
  API_CODECS.get(apiKey)!.writeResponse(w, version, body);
  return { body, reencoded: w.toBuffer(), bytes };
}

describe('ConsumerGroupHeartbeat v1 golden frames', () => {
  it('librdkafka 2.15.1 join: client-made member id, an empty SubscribedTopicRegex, no owned partitions', () => {
    const { body, reencoded, bytes } = decodeRequest('consumer-group-heartbeat/confluent-kafka-javascript-0042-v1-request.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(body).toEqual({
      groupId: 'cjs-848',
      memberId: 'C6w1beEbQ2mxb0t7y+jz8A',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 600000,
      subscribedTopicNames: ['cjs-idem', 'cjs-codecs'],
      subscribedTopicRegex: '',
      serverAssignor: null,
      topicPartitions: [],
    });
    expect(reencoded.equals(bytes)).toBe(true);
    const res = decodeResponse('consumer-group-heartbeat/confluent-kafka-javascript-0042-v1-response.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(res.body).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      memberId: 'C6w1beEbQ2mxb0t7y+jz8A',
      memberEpoch: 1,
      heartbeatIntervalMs: 5000,
      assignment: {
        topicPartitions: [
          { topicId: hex('d88ed0b1bbabc86e88eb1b32b2f4a1e3'), partitions: [0] },
          { topicId: hex('b3db76b1085e2112061a0d30d05f3e24'), partitions: [0] },
          { topicId: hex('8dee1b3a1f0667f42889fa1428f58d1f'), partitions: [0] },
        ],
      },
    });
    expect(res.reencoded.equals(res.bytes)).toBe(true);
  });

  it('librdkafka 2.15.1 heartbeat: only the owned partitions, the unchanged fields null / -1', () => {
    const { body, reencoded, bytes } = decodeRequest('consumer-group-heartbeat/confluent-kafka-javascript-0044-v1-request.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(body).toEqual({
      groupId: 'cjs-848',
      memberId: 'C6w1beEbQ2mxb0t7y+jz8A',
      memberEpoch: 1,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [
        { topicId: hex('d88ed0b1bbabc86e88eb1b32b2f4a1e3'), partitions: [0] },
        { topicId: hex('b3db76b1085e2112061a0d30d05f3e24'), partitions: [0] },
        { topicId: hex('8dee1b3a1f0667f42889fa1428f58d1f'), partitions: [0] },
      ],
    });
    expect(reencoded.equals(bytes)).toBe(true);
    const res = decodeResponse('consumer-group-heartbeat/confluent-kafka-javascript-0044-v1-response.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(res.body).toEqual({ throttleTimeMs: 0, errorCode: 0, errorMessage: null, memberId: 'C6w1beEbQ2mxb0t7y+jz8A', memberEpoch: 1, heartbeatIntervalMs: 5000, assignment: null });
    expect(res.reencoded.equals(res.bytes)).toBe(true);
  });

  it('librdkafka 2.15.1 leave: epoch -1', () => {
    const { body, reencoded, bytes } = decodeRequest('consumer-group-heartbeat/confluent-kafka-javascript-0049-v1-request.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(body).toMatchObject({ groupId: 'cjs-848', memberId: 'C6w1beEbQ2mxb0t7y+jz8A', memberEpoch: -1, subscribedTopicNames: null, topicPartitions: null });
    expect(reencoded.equals(bytes)).toBe(true);
    const res = decodeResponse('consumer-group-heartbeat/confluent-kafka-javascript-0049-v1-response.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(res.body).toMatchObject({ errorCode: 0, memberEpoch: -1 });
    expect(res.reencoded.equals(res.bytes)).toBe(true);
  });

  it('franz-go join: serverAssignor uniform, regex null; and its leave', () => {
    const join = decodeRequest('consumer-group-heartbeat/franz-go-0042-v1-request.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(join.body).toEqual({
      groupId: 'fg-848',
      memberId: 'ssPErm6oxpKuDaXKJFGtvg==',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 60000,
      subscribedTopicNames: ['fg-codecs', 'fg-txn'],
      subscribedTopicRegex: null,
      serverAssignor: 'uniform',
      topicPartitions: [],
    });
    expect(join.reencoded.equals(join.bytes)).toBe(true);
    const joined = decodeResponse('consumer-group-heartbeat/franz-go-0042-v1-response.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(joined.body.assignment.topicPartitions).toHaveLength(2);
    expect(joined.reencoded.equals(joined.bytes)).toBe(true);
    const leave = decodeRequest('consumer-group-heartbeat/franz-go-0045-v1-request.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(leave.body).toMatchObject({ memberEpoch: -1, memberId: 'ssPErm6oxpKuDaXKJFGtvg==' });
    expect(leave.reencoded.equals(leave.bytes)).toBe(true);
    const left = decodeResponse('consumer-group-heartbeat/franz-go-0045-v1-response.hex', ApiKey.ConsumerGroupHeartbeat, 1);
    expect(left.reencoded.equals(left.bytes)).toBe(true);
  });
});

describe('ConsumerGroupDescribe v0 golden frames', () => {
  it('librdkafka 2.15.1 and franz-go: requests and GROUP_ID_NOT_FOUND answers round-trip', () => {
    const cjs = decodeRequest('consumer-group-describe/confluent-kafka-javascript-0058-v0-request.hex', ApiKey.ConsumerGroupDescribe, 0);
    expect(cjs.body).toEqual({ groupIds: ['cjs-classic'], includeAuthorizedOperations: false });
    expect(cjs.reencoded.equals(cjs.bytes)).toBe(true);
    const fg = decodeRequest('consumer-group-describe/franz-go-0088-v0-request.hex', ApiKey.ConsumerGroupDescribe, 0);
    expect(fg.body).toEqual({ groupIds: ['fg-848'], includeAuthorizedOperations: true });
    expect(fg.reencoded.equals(fg.bytes)).toBe(true);
    const res = decodeResponse('consumer-group-describe/confluent-kafka-javascript-0058-v0-response.hex', ApiKey.ConsumerGroupDescribe, 0);
    expect(res.body).toEqual({
      throttleTimeMs: 0,
      groups: [{ errorCode: 69, errorMessage: null, groupId: 'cjs-classic', groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [], authorizedOperations: -2147483648 }],
    });
    expect(res.reencoded.equals(res.bytes)).toBe(true);
    for (const f of ['confluent-kafka-javascript-0059', 'confluent-kafka-javascript-0060', 'franz-go-0088']) {
      const req = decodeRequest(`consumer-group-describe/${f}-v0-request.hex`, ApiKey.ConsumerGroupDescribe, 0);
      expect(req.reencoded.equals(req.bytes)).toBe(true);
      const r = decodeResponse(`consumer-group-describe/${f}-v0-response.hex`, ApiKey.ConsumerGroupDescribe, 0);
      expect(r.reencoded.equals(r.bytes)).toBe(true);
    }
  });

  it('v1 (Kafka 4.0, KIP-1099): franz-go\'s request and its answer round-trip byte for byte', () => {
    expect(API_CODECS.get(ApiKey.ConsumerGroupDescribe)!.maxVersion).toBe(1);
    const req = decodeRequest('consumer-group-describe/franz-go-0058-v1-request.hex', ApiKey.ConsumerGroupDescribe, 1);
    expect(req.body).toEqual({ groupIds: ['fg-848'], includeAuthorizedOperations: true });
    expect(req.reencoded.equals(req.bytes)).toBe(true);
    const res = decodeResponse('consumer-group-describe/franz-go-0058-v1-response.hex', ApiKey.ConsumerGroupDescribe, 1);
    expect(res.body.groups[0]).toMatchObject({ errorCode: 0, groupId: 'fg-848', groupState: 'Empty', groupEpoch: 2, assignmentEpoch: 1, assignorName: 'uniform' });
    expect(res.reencoded.equals(res.bytes)).toBe(true);
  });
});

describe('DescribeGroups v6 golden frames (KIP-1043)', () => {
  it('franz-go\'s requests and the answers with their ErrorMessage field round-trip byte for byte', () => {
    for (const [f, groups] of [['franz-go-0057', ['fg-classic', 'fg-ctp']], ['franz-go-0060', ['fg-848']]] as const) {
      const req = decodeRequest(`describe-groups/${f}-v6-request.hex`, ApiKey.DescribeGroups, 6);
      expect(req.body).toEqual({ groups, includeAuthorizedOperations: true });
      expect(req.reencoded.equals(req.bytes)).toBe(true);
      const res = decodeResponse(`describe-groups/${f}-v6-response.hex`, ApiKey.DescribeGroups, 6);
      expect(res.body.groups.map((g: { groupId: string; errorMessage: string | null }) => [g.groupId, g.errorMessage])).toEqual(groups.map((g) => [g, null]));
      expect(res.reencoded.equals(res.bytes)).toBe(true);
    }
  });
});
