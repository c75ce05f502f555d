// The schema rules the generator implements, checked on concrete messages: version ranges, defaults,
// nullability, ignorable fields, tagged fields, nullable structs.
import { describe, expect, it } from 'vitest';
import * as apiVersions from '../../src/protocol/generated/api-versions.js';
import * as cgh from '../../src/protocol/generated/consumer-group-heartbeat.js';
import * as fetch from '../../src/protocol/generated/fetch.js';
import * as metadata from '../../src/protocol/generated/metadata.js';
import * as produce from '../../src/protocol/generated/produce.js';
import { ErrorCode, errorName, RETRIABLE_ERROR_CODES } from '../../src/protocol/error-codes.js';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import { ProtocolEncodeError, Writer } from '../../src/protocol/writer.js';

function bytes(f: (w: Writer) => void): Buffer {
  const w = new Writer();
  f(w);
  return w.toBuffer();
}

describe('defaults', () => {
  it('make…() applies schema defaults, including hex and negative ones', () => {
    const req = fetch.makeFetchRequest();
    expect(req.maxBytes).toBe(0x7fffffff);
    expect(req.replicaId).toBe(-1);
    expect(req.isolationLevel).toBe(0);
    expect(req.clusterId).toBeNull();
    expect(metadata.makeMetadataRequest().allowAutoTopicCreation).toBe(true);
    expect(metadata.makeMetadataResponse().clusterAuthorizedOperations).toBe(-2147483648);
    const topic = metadata.makeMetadataResponseTopic();
    expect(topic.topicId).toEqual(Buffer.alloc(16));
    expect(produce.makeProduceResponsePartitionProduceResponse().logAppendTimeMs).toBe(-1n);
  });

  it('reading a version without a field yields its default', () => {
    const w = new Writer();
    // Fetch v3: ReplicaId, MaxWaitMs, MinBytes, MaxBytes, then topics (no IsolationLevel before v4).
    w.writeInt32(-1).writeInt32(500).writeInt32(1).writeInt32(1024).writeArrayLength(0);
    const req = fetch.readFetchRequest(new Reader(w.toBuffer()), 3);
    expect(req.isolationLevel).toBe(0);
    expect(req.sessionEpoch).toBe(-1);
    expect(req.maxBytes).toBe(1024);
    expect(req.rackId).toBe('');
  });
});

describe('fields absent from the written version', () => {
  it('a non-default value of a non-ignorable field throws ProtocolEncodeError', () => {
    const m = produce.makeProduceRequest();
    m.transactionalId = 'tx-1';
    expect(() => produce.writeProduceRequest(new Writer(), 2, m)).toThrow(ProtocolEncodeError);
    expect(() => produce.writeProduceRequest(new Writer(), 3, m)).not.toThrow();
  });

  it('a non-default value of an ignorable field is silently dropped', () => {
    const m = produce.makeProduceResponse();
    m.throttleTimeMs = 250;
    const buf = bytes((w) => produce.writeProduceResponse(w, 0, m));
    expect(buf.toString('hex')).toBe('00000000');
    expect(produce.readProduceResponse(new Reader(buf), 0).throttleTimeMs).toBe(0);
  });

  it('undefined optional fields are written as their defaults', () => {
    const buf = bytes((w) => fetch.writeFetchRequest(w, 4, { replicaId: -1, maxWaitMs: 1, minBytes: 1, topics: [] }));
    const back = fetch.readFetchRequest(new Reader(buf), 4);
    expect(back.maxBytes).toBe(0x7fffffff);
    expect(back.isolationLevel).toBe(0);
  });
});

describe('nullability per version', () => {
  it('null where the version does not allow it throws on write and on read', () => {
    const m = metadata.makeMetadataRequest();
    m.topics = null;
    expect(() => metadata.writeMetadataRequest(new Writer(), 0, m)).toThrow(ProtocolEncodeError);
    expect(bytes((w) => metadata.writeMetadataRequest(w, 1, m)).toString('hex')).toBe('ffffffff');
    expect(() => metadata.readMetadataRequest(new Reader(Buffer.from('ffffffff', 'hex')), 0)).toThrow(ProtocolDecodeError);
    expect(metadata.readMetadataRequest(new Reader(Buffer.from('ffffffff', 'hex')), 1).topics).toBeNull();
  });

  it('nullable structs are an int8 marker (-1 null, 1 present) before the struct', () => {
    const m = cgh.makeConsumerGroupHeartbeatResponse();
    const nullTail = bytes((w) => cgh.writeConsumerGroupHeartbeatResponse(w, 0, m)).toString('hex');
    expect(nullTail.endsWith('ff00')).toBe(true);
    m.assignment = cgh.makeConsumerGroupHeartbeatResponseAssignment();
    const buf = bytes((w) => cgh.writeConsumerGroupHeartbeatResponse(w, 0, m));
    expect(buf.toString('hex').endsWith('01010000')).toBe(true);
    expect(cgh.readConsumerGroupHeartbeatResponse(new Reader(buf), 0).assignment).toEqual({ topicPartitions: [] });
  });
});

describe('tagged fields', () => {
  it('are written in tag order, each with its size, only when not default', () => {
    const m = apiVersions.makeApiVersionsResponse();
    m.zkMigrationReady = true; // tag 3
    m.finalizedFeaturesEpoch = 7n; // tag 1
    const buf = bytes((w) => apiVersions.writeApiVersionsResponse(w, 3, m));
    // errorCode 0000, apiKeys [] (01), throttleTimeMs 00000000, then 2 tagged fields: tag 1 size 8, tag 3 size 1.
    expect(buf.toString('hex')).toBe('0000' + '01' + '00000000' + '02' + '0108' + '0000000000000007' + '0301' + '01');
    expect(apiVersions.readApiVersionsResponse(new Reader(buf), 3)).toEqual(m);
  });

  it('unknown tags are skipped when reading', () => {
    // ApiVersionsRequest v3: two compact strings, then tagged fields: tag 9 (3 bytes), tag 200 (0 bytes).
    const buf = Buffer.from('02610262' + '02' + '0903abcdef' + 'c80100', 'hex');
    const r = new Reader(buf);
    expect(apiVersions.readApiVersionsRequest(r, 3)).toEqual({ clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
    expect(r.remaining()).toBe(0);
  });

  it('a known tag whose value runs past its declared size is rejected', () => {
    // tag 1 (FinalizedFeaturesEpoch, int64) declared with size 2: the value would read into the next field.
    const buf = Buffer.from('0000' + '01' + '00000000' + '01' + '0102' + '0000000000000007', 'hex');
    expect(() => apiVersions.readApiVersionsResponse(new Reader(buf), 3)).toThrow(ProtocolDecodeError);
  });

  it('a known tag whose declared size is larger than its value is read, and its extra bytes skipped', () => {
    // tag 3 (ZkMigrationReady, bool) with size 2: a newer writer may append to a tagged value; the reader takes
    // the fields it knows and skips to the declared end, then reads what follows normally.
    const buf = Buffer.from('0000' + '01' + '00000000' + '01' + '0302' + '01ff', 'hex');
    const r = new Reader(buf);
    expect(apiVersions.readApiVersionsResponse(r, 3).zkMigrationReady).toBe(true);
    expect(r.remaining()).toBe(0);
  });
});

describe('error codes', () => {
  it('names follow Kafka', () => {
    expect(errorName(ErrorCode.NOT_LEADER_OR_FOLLOWER)).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(errorName(120)).toBe('TRANSACTION_ABORTABLE');
    expect(errorName(999)).toBe('UNKNOWN_CODE_999');
  });

  it('retriable codes are the RetriableException subclasses of Kafka 3.9', () => {
    expect(RETRIABLE_ERROR_CODES.has(ErrorCode.NOT_LEADER_OR_FOLLOWER)).toBe(true);
    expect(RETRIABLE_ERROR_CODES.has(ErrorCode.CONCURRENT_TRANSACTIONS)).toBe(true);
    expect(RETRIABLE_ERROR_CODES.has(ErrorCode.TRANSACTION_ABORTABLE)).toBe(false);
    expect(RETRIABLE_ERROR_CODES.has(ErrorCode.OFFSET_OUT_OF_RANGE)).toBe(false);
    expect(RETRIABLE_ERROR_CODES.size).toBe(29);
  });
});
