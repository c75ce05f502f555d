// Found by the fuzzer (issue 8): deleting a topic with a 249-character name failed with ENAMETOOLONG, because
// `<topic>-<partition>.<32-hex id>-delete` is longer than 255 bytes. Kafka cuts the topic part
// (LocalLog.logDirNameWithSuffixCappedLength); so does Eddy.
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { deletedLogDirName } from '../../src/log/log-manager.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await tb?.stop();
});

describe('issue 8: deleting a topic whose name has the maximum length', () => {
  it('the deleted directory name fits in 255 bytes and keeps the partition and the -delete suffix', () => {
    const name = deletedLogDirName(`${'x'.repeat(249)}-12`);
    expect(name.length).toBe(255);
    expect(name).toMatch(/^x+-12\.[0-9a-f]{32}-delete$/);
    expect(deletedLogDirName('t-0')).toMatch(/^t-0\.[0-9a-f]{32}-delete$/);
  });

  it('CreateTopics then DeleteTopics of a 249-character topic succeeds and removes its directories', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    const topic = 'x'.repeat(249);
    const created = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
    expect(created.topics[0].errorCode).toBe(0);
    const deleted = await client.send(ApiKey.DeleteTopics, 4, { topicNames: [topic], timeoutMs: 5000 });
    expect(deleted.responses[0].errorCode).toBe(0);
    expect(readdirSync(tb.dataDir).filter((n) => n.startsWith('xxxx'))).toEqual([]);
  });
});
