// Topic registry durability edges: what a crash between its steps leaves behind must never be served.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await tb?.stop();
});

describe('topic registry', () => {
  it('removes at start the logs of a topic whose deletion was interrupted, so a recreated topic starts empty', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'ghost', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'ghost', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'old' }, { value: 'data' }] }) }] }] });
    client.close();
    const dataDir = tb.dataDir;
    await tb.stop({ keepData: true });

    // A crash after the metadata file was rewritten but before the partition directories were removed.
    const file = path.join(dataDir, 'topic-metadata.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.topics = doc.topics.filter((t: { name: string }) => t.name !== 'ghost');
    writeFileSync(file, JSON.stringify(doc));

    tb = await startTestBroker({ dataDir });
    expect(existsSync(path.join(dataDir, 'ghost-0'))).toBe(false);
    client = await TestClient.connect(tb.port);
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'ghost', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    const offsets = await client.send(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'ghost', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    expect(offsets.topics[0].partitions[0].offset).toBe(0n);
  });
});
