// Every advertised version of every API answers with a response that decodes at that version: this catches a
// handler setting a field that does not exist at some version (the encoder refuses non-default values there).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeAll(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'v', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
  await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'v', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'x' }] }) }] }] });
});
afterAll(async () => {
  client.close();
  await tb.stop();
});

const partition = { partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 };

/** A representative request per API; `v` is the version, for fields that change meaning. */
function requestFor(apiKey: number, v: number, i: number): Record<string, unknown> {
  switch (apiKey) {
    case ApiKey.ApiVersions:
      return { clientSoftwareName: 'eddy-test', clientSoftwareVersion: '1.0' };
    case ApiKey.Metadata:
      return { topics: [{ name: 'v', topicId: Buffer.alloc(16) }, { name: `auto-${v}`, topicId: Buffer.alloc(16) }], allowAutoTopicCreation: true };
    case ApiKey.Produce:
      return { acks: 1, timeoutMs: 1000, topicData: [{ name: 'v', partitionData: [{ index: 1, records: buildRecordBatch({ records: [{ value: `p${i}` }] }) }, { index: 9, records: null }] }] };
    case ApiKey.Fetch:
      return { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, topics: [{ topic: 'v', topicId: Buffer.alloc(16), partitions: [partition, { ...partition, partition: 9 }] }], forgottenTopicsData: [], rackId: '' };
    case ApiKey.ListOffsets:
      return { replicaId: -1, topics: [{ name: 'v', partitions: [{ partitionIndex: 0, timestamp: -1n, maxNumOffsets: 1, currentLeaderEpoch: -1 }, { partitionIndex: 0 + 1, timestamp: 0n, maxNumOffsets: 1, currentLeaderEpoch: -1 }] }] };
    case ApiKey.CreateTopics:
      return { topics: [{ name: `created-${v}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] }, { name: 'v', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 };
    case ApiKey.DeleteTopics:
      return v < 6 ? { topicNames: ['no-such-topic'], timeoutMs: 1000 } : { topics: [{ name: 'no-such-topic', topicId: Buffer.alloc(16) }], timeoutMs: 1000 };
    default:
      return {};
  }
}

describe('every advertised version answers', () => {
  let i = 0;
  for (const handler of [...HANDLERS.values()].sort((a, b) => a.apiKey - b.apiKey)) {
    for (let v = handler.minVersion; v <= handler.maxVersion; v++) {
      it(`${handler.name} v${v}`, async () => {
        const res = await client.send(handler.apiKey, v, requestFor(handler.apiKey, v, i++));
        expect(res).toBeTypeOf('object');
        expect(client.isOpen).toBe(true);
      });
    }
  }
});
