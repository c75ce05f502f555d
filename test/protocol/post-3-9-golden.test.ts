// Golden frames at the versions past Kafka 3.9 (issue 12): what franz-go (adb3a18) and librdkafka 2.15.1
// (confluent-kafka-javascript 1.10.1) sent to a broker offering Kafka 4.x ranges, decoded with the schemas extended
// in scripts/kafka-protocol/messages (sources in its README.md) into whole expected values. Requests are the
// clients' bytes; responses come from franz-go's kfake and only show that the response layout decodes.
// test/protocol/wire-corpus.test.ts also re-encodes each of these frames byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readRequestHeader, readResponseHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { readProduceRequest, readProduceResponse } from '../../src/protocol/generated/produce.js';
import { readFetchRequest } from '../../src/protocol/generated/fetch.js';
import { readListOffsetsRequest } from '../../src/protocol/generated/list-offsets.js';
import { readMetadataRequest, readMetadataResponse } from '../../src/protocol/generated/metadata.js';
import { readOffsetCommitRequest, readOffsetCommitResponse } from '../../src/protocol/generated/offset-commit.js';
import { readOffsetFetchRequest, readOffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.js';
import { readEndTxnRequest, readEndTxnResponse } from '../../src/protocol/generated/end-txn.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/wire');

function request(file: string): { r: Reader; header: ReturnType<typeof readRequestHeader> } {
  const r = new Reader(Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex'));
  return { r, header: readRequestHeader(r) };
}
function response(file: string, headerVersion: number): Reader {
  const r = new Reader(Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex'));
  readResponseHeader(r, headerVersion);
  return r;
}
const id = (hex: string) => Buffer.from(hex, 'hex');
const ZERO_ID = Buffer.alloc(16);
/** franz-go's topics in its captures, as kfake's Metadata v13 answers named them. */
const FG_CODECS = id('3923bb63207695e565f2bdd2c95a0050');
const FG_TXN = id('7dbbbab34fdad0627a3b952a6808b949');

describe('golden frames past Kafka 3.9 decode into whole expected values', () => {
  it('franz-go Metadata v13: the topic ids it later produces and fetches by, and the top-level error code (KIP-1102)', () => {
    const { r, header } = request('metadata/franz-go-0011-v13-request.hex');
    expect(header.requestApiVersion).toBe(13);
    expect(readMetadataRequest(r, 13)).toEqual({
      topics: [{ topicId: ZERO_ID, name: 'fg-codecs' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.remaining()).toBe(0);
    const res = readMetadataResponse(response('metadata/franz-go-0011-v13-response.hex', 1), 13);
    expect(res.errorCode).toBe(0);
    expect(res.topics.map((t) => [t.name, t.topicId])).toEqual([['fg-codecs', FG_CODECS]]);
  });

  it('librdkafka 2.15.1 Metadata v13 for all topics: a null topic array and 3 trailing bytes, as at v12', () => {
    const { r } = request('metadata/confluent-kafka-javascript-0006-v13-request.hex');
    expect(readMetadataRequest(r, 13)).toEqual({
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.remaining()).toBe(3);
  });

  it('franz-go Produce v13: the topic is named by its id only (KIP-516), the records are the batch as a slice', () => {
    const { r } = request('produce/franz-go-0013-v13-request.hex');
    const req = readProduceRequest(r, 13);
    expect(r.remaining()).toBe(0);
    expect(req.transactionalId).toBeNull();
    expect(req.acks).toBe(-1);
    expect(req.timeoutMs).toBe(10000);
    expect(req.topicData).toHaveLength(1);
    expect(req.topicData[0]!.name).toBe('');
    expect(req.topicData[0]!.topicId).toEqual(FG_CODECS);
    const records = req.topicData[0]!.partitionData[0]!.records!;
    expect(req.topicData[0]!.partitionData[0]!.index).toBe(0);
    expect(records.readInt32BE(8) + 12).toBe(records.length); // one whole RecordBatch
    expect(records.readInt8(16)).toBe(2);
    const res = readProduceResponse(response('produce/franz-go-0013-v13-response.hex', 1), 13);
    expect(res.responses.map((t) => [t.name, t.topicId])).toEqual([['', FG_CODECS]]);
  });

  it('franz-go transactional Produce v13 (the recording broker finalized transaction.version 2)', () => {
    const { r } = request('produce/franz-go-0025-v13-request.hex');
    const req = readProduceRequest(r, 13);
    expect(req.transactionalId).toBe('fg-txn-id');
    expect(req.topicData[0]!.topicId).toEqual(FG_TXN);
  });

  it('franz-go Fetch v18: topics by id, and the partition high watermark tag (KIP-1166) absent, so INT64_MAX', () => {
    const { r } = request('fetch/franz-go-0037-v18-request.hex');
    const req = readFetchRequest(r, 18);
    expect(r.remaining()).toBe(0);
    expect(req.replicaState).toEqual({ replicaId: -1, replicaEpoch: -1n });
    expect(req.topics.map((t) => t.topicId)).toEqual([FG_CODECS, FG_TXN]);
    expect(req.topics[0]!.partitions).toEqual([
      {
        partition: 0,
        currentLeaderEpoch: 0,
        fetchOffset: 0n,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1048576,
        replicaDirectoryId: ZERO_ID,
        highWatermark: 9223372036854775807n,
      },
    ]);
  });

  it('franz-go ListOffsets v10: TimeoutMs (KIP-1075) after the topics', () => {
    const { r } = request('list-offsets/franz-go-0049-v10-request.hex');
    expect(readListOffsetsRequest(r, 10)).toEqual({
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: 'fg-codecs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 0, timestamp: -2n, maxNumOffsets: 1 }] }],
      timeoutMs: 30000,
    });
    expect(r.remaining()).toBe(0);
  });

  it('franz-go OffsetCommit v10: topics by id', () => {
    const { r } = request('offset-commit/franz-go-0038-v10-request.hex');
    const req = readOffsetCommitRequest(r, 10);
    expect(r.remaining()).toBe(0);
    expect(req.groupId).toBe('fg-classic');
    expect(req.topics.map((t) => [t.name, t.topicId, t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch])])).toEqual([
      ['', FG_TXN, [[0, 9n, 0]]],
      ['', FG_CODECS, [[0, 36n, 0]]],
    ]);
    const res = readOffsetCommitResponse(response('offset-commit/franz-go-0038-v10-response.hex', 1), 10);
    expect(res.topics.map((t) => t.topicId)).toEqual([FG_TXN, FG_CODECS]);
  });

  it('franz-go OffsetFetch v10: group topics by id, and all topics (null) answered by id', () => {
    const { r } = request('offset-fetch/franz-go-0035-v10-request.hex');
    const req = readOffsetFetchRequest(r, 10);
    expect(r.remaining()).toBe(0);
    expect(req.requireStable).toBe(true);
    expect(req.groups!.map((g) => [g.groupId, g.memberEpoch, g.topics!.map((t) => [t.name, t.topicId, t.partitionIndexes])])).toEqual([
      ['fg-classic', 1, [['', FG_CODECS, [0]], ['', FG_TXN, [0]]]],
    ]);
    const all = readOffsetFetchRequest(request('offset-fetch/franz-go-0059-v10-request.hex').r, 10);
    expect(all.groups![0]!.topics).toBeNull();
    const res = readOffsetFetchResponse(response('offset-fetch/franz-go-0059-v10-response.hex', 1), 10);
    expect(res.groups![0]!.topics.map((t) => [t.topicId, t.partitions[0]!.committedOffset])).toEqual([[FG_TXN, 9n], [FG_CODECS, 36n]]);
  });

  it('franz-go EndTxn v5 (KIP-890 part 2): the response carries the bumped producer epoch', () => {
    const { r } = request('end-txn/franz-go-0026-v5-request.hex');
    expect(readEndTxnRequest(r, 5)).toEqual({ transactionalId: 'fg-txn-id', producerId: 4401055154348617629n, producerEpoch: 0, committed: true });
    expect(readEndTxnResponse(response('end-txn/franz-go-0026-v5-response.hex', 1), 5)).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      producerId: 4401055154348617629n,
      producerEpoch: 1,
    });
  });
});
