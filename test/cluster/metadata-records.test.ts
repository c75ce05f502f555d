import { describe, expect, it } from 'vitest';
import {
  MetadataRecordError,
  decodeBrokerRecord,
  decodeClusterIdRecord,
  decodeControllerRecord,
  decodePartitionRecord,
  decodeProducerIdsRecord,
  decodeTopicRecord,
  encodeBrokerRecord,
  encodeClusterIdRecord,
  encodeControllerRecord,
  encodePartitionRecord,
  encodeProducerIdsRecord,
  encodeTopicRecord,
  parseKey,
  partitionKey,
  brokerKey,
} from '../../src/cluster/metadata-records.js';

const TOPIC_ID = '0123456789abcdef0123456789abcdef';
const partition = { topicId: TOPIC_ID, partition: 2, replicas: [1, 2, 3], isr: [1, 3], leader: 3, leaderEpoch: 4, partitionEpoch: 7, leaderRecoveryState: 0 };
const broker = {
  brokerId: 7,
  incarnationId: 'abc',
  endpoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092, securityProtocol: 'PLAINTEXT' }],
  rack: 'r1',
  fenced: false,
  inControlledShutdown: false,
};

function withField(buf: Buffer, field: string, value: unknown): string {
  return JSON.stringify({ ...(JSON.parse(buf.toString()) as object), [field]: value });
}

describe('metadata records', () => {
  it('every record kind round-trips with version 1', () => {
    expect(decodeClusterIdRecord(encodeClusterIdRecord({ clusterId: 'AbC_-123' })).clusterId).toBe('AbC_-123');
    expect(decodeBrokerRecord(encodeBrokerRecord(broker), 7)).toEqual({ version: 1, ...broker });
    expect(decodeControllerRecord(encodeControllerRecord({ brokerId: 2 }))).toEqual({ version: 1, brokerId: 2 });
    expect(decodeTopicRecord(encodeTopicRecord({ name: 'orders', topicId: TOPIC_ID, configs: { 'cleanup.policy': 'compact' } }), 'orders')).toEqual({
      version: 1,
      name: 'orders',
      topicId: TOPIC_ID,
      configs: { 'cleanup.policy': 'compact' },
    });
    expect(decodePartitionRecord(encodePartitionRecord(partition), TOPIC_ID, 2)).toEqual({ version: 1, ...partition });
    const ids = decodeProducerIdsRecord(encodeProducerIdsRecord({ brokerId: 1, brokerEpoch: 55, nextProducerId: 9007199254740993n }));
    expect(ids.nextProducerIdValue).toBe(9007199254740993n);
    expect(ids.nextProducerId).toBe('9007199254740993');
  });

  it('rejects values that are not JSON, of another version, or mistyped', () => {
    expect(() => decodeTopicRecord('{not json')).toThrow(MetadataRecordError);
    expect(() => decodeTopicRecord('[1]')).toThrow(/not a JSON object/);
    expect(() => decodeControllerRecord('{"version":2,"brokerId":1}')).toThrow(/unsupported version 2/);
    expect(() => decodeControllerRecord('{"version":1,"brokerId":"1"}')).toThrow(/brokerId/);
    expect(() => decodeBrokerRecord(withField(encodeBrokerRecord(broker), 'fenced', 'no'))).toThrow(/fenced/);
    expect(() => decodeBrokerRecord(withField(encodeBrokerRecord(broker), 'rack', 5))).toThrow(/rack/);
    expect(() => decodeBrokerRecord(withField(encodeBrokerRecord(broker), 'endpoints', [{ name: 'X', host: 'h', port: 70000, securityProtocol: 'P' }]))).toThrow(/port/);
    expect(() => decodeClusterIdRecord('{"version":1,"clusterId":"has space"}')).toThrow(/clusterId/);
    expect(() => decodeProducerIdsRecord('{"version":1,"brokerId":1,"brokerEpoch":1,"nextProducerId":"9223372036854775808"}')).toThrow(/int64/);
    expect(() => decodeProducerIdsRecord('{"version":1,"brokerId":1,"brokerEpoch":1,"nextProducerId":12}')).toThrow(/nextProducerId/);
    expect(() => decodeTopicRecord(withField(encodeTopicRecord({ name: 't', topicId: TOPIC_ID, configs: {} }), 'configs', { a: 1 }))).toThrow(/config a/);
    expect(() => decodeTopicRecord(encodeTopicRecord({ name: 't', topicId: '0'.repeat(32), configs: {} }))).toThrow(/zero UUID/);
    expect(() => decodeTopicRecord(encodeTopicRecord({ name: 't', topicId: 'XYZ', configs: {} }))).toThrow(/topicId/);
  });

  it('rejects partition records that break the ISR and leader invariants', () => {
    const bad = (field: string, value: unknown): string => withField(encodePartitionRecord(partition), field, value);
    expect(() => decodePartitionRecord(bad('replicas', []))).toThrow(/replicas is empty/);
    expect(() => decodePartitionRecord(bad('isr', []))).toThrow(/isr is empty/);
    expect(() => decodePartitionRecord(bad('isr', [4]))).toThrow(/not a replica/);
    expect(() => decodePartitionRecord(bad('replicas', [1, 1, 3]))).toThrow(/twice/);
    expect(() => decodePartitionRecord(bad('leader', 2))).toThrow(/not in the isr/);
    expect(() => decodePartitionRecord(bad('leaderEpoch', -1))).toThrow(/leaderEpoch/);
    expect(() => decodePartitionRecord(bad('leaderRecoveryState', 2))).toThrow(/leaderRecoveryState/);
    expect(decodePartitionRecord(bad('leader', -1)).leader).toBe(-1);
  });

  it('rejects a value that disagrees with its key', () => {
    expect(() => decodeBrokerRecord(encodeBrokerRecord(broker), 8)).toThrow(/does not match its key/);
    expect(() => decodePartitionRecord(encodePartitionRecord(partition), TOPIC_ID, 3)).toThrow(/do not match its key/);
    expect(() => decodeTopicRecord(encodeTopicRecord({ name: 'a', topicId: TOPIC_ID, configs: {} }), 'b')).toThrow(/does not match its key/);
  });

  it('parses the key layout and ignores keys outside it', () => {
    expect(brokerKey('/eddy', 7)).toBe('/eddy/brokers/0000000007');
    expect(parseKey('/eddy', brokerKey('/eddy', 7))).toEqual({ kind: 'broker', brokerId: 7 });
    expect(parseKey('/eddy', partitionKey('/eddy', TOPIC_ID, 12))).toEqual({ kind: 'partition', topicId: TOPIC_ID, partition: 12 });
    expect(parseKey('/eddy', '/eddy/topics/orders')).toEqual({ kind: 'topic', name: 'orders' });
    expect(parseKey('/eddy', '/eddy/controller')).toEqual({ kind: 'controller' });
    expect(parseKey('/eddy', '/eddy/brokers/7')).toBeUndefined();
    expect(parseKey('/eddy', '/eddy/unknown/x')).toBeUndefined();
    expect(parseKey('/eddy', '/other/controller')).toBeUndefined();
  });
});
