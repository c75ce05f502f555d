import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

describe('ApiVersions', () => {
  for (const version of [0, 1, 2, 3, 4]) {
    it(`v${version} lists every registered API with minimum version 0`, async () => {
      const fields = version >= 3 ? { clientSoftwareName: 'eddy-test', clientSoftwareVersion: '1.0' } : {};
      const res = await client.send(ApiKey.ApiVersions, version, fields);
      expect(res.errorCode).toBe(ErrorCode.NONE);
      const keys = res.apiKeys.map((k: { apiKey: number }) => k.apiKey);
      expect(keys).toEqual([...HANDLERS.keys()].sort((a, b) => a - b));
      for (const k of res.apiKeys) {
        expect(k.minVersion).toBe(0);
        expect(k.maxVersion).toBe(HANDLERS.get(k.apiKey)!.maxVersion);
      }
    });
  }

  it('advertises the versions librdkafka needs to enable MsgVer2 and ZSTD (Produce 3..7, Fetch 4..10)', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
    const range = (key: number) => res.apiKeys.find((k: { apiKey: number }) => k.apiKey === key);
    expect(range(ApiKey.Produce).maxVersion).toBeGreaterThanOrEqual(7);
    expect(range(ApiKey.Fetch).maxVersion).toBeGreaterThanOrEqual(10);
  });

  it('answers an unsupported ApiVersions version with a v0 body carrying UNSUPPORTED_VERSION and the ranges (KIP-511)', async () => {
    const res = await client.sendExpecting(ApiKey.ApiVersions, 127, {}, 0);
    expect(res.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    // Kafka lists only ApiVersions itself (ApiVersionsRequest.getErrorResponse).
    expect(res.apiKeys).toEqual([{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 }]);
    // The connection stays usable: the client retries at a version it finds in the list.
    const retry = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    expect(retry.errorCode).toBe(ErrorCode.NONE);
  });

  it('rejects an illegal client software name with INVALID_REQUEST', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: '-bad name!', clientSoftwareVersion: '1.0' });
    expect(res.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(res.apiKeys).toEqual([]);
    expect(res.supportedFeatures).toEqual([]);
  });

  it('v3 carries the feature tags without the features whose minimum is 0 (KAFKA-17492); transaction.version 2 and group.version 1 are finalized', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.15.1' });
    expect(res.supportedFeatures).toEqual([{ name: 'metadata.version', minVersion: 1, maxVersion: 21 }]);
    expect(res.finalizedFeatures).toEqual([
      { name: 'metadata.version', minVersionLevel: 21, maxVersionLevel: 21 },
      { name: 'transaction.version', minVersionLevel: 2, maxVersionLevel: 2 },
      { name: 'group.version', minVersionLevel: 1, maxVersionLevel: 1 },
    ]);
    expect(res.finalizedFeaturesEpoch).toBe(0n);
  });

  it('v4 also lists kraft.version 0-1, transaction.version 0-2 and group.version 0-1 among the supported features', async () => {
    const res = await client.send(ApiKey.ApiVersions, 4, { clientSoftwareName: 'apache-kafka-java', clientSoftwareVersion: '4.0.0' });
    expect(res.supportedFeatures).toEqual([
      { name: 'metadata.version', minVersion: 1, maxVersion: 21 },
      { name: 'kraft.version', minVersion: 0, maxVersion: 1 },
      { name: 'transaction.version', minVersion: 0, maxVersion: 2 },
      { name: 'group.version', minVersion: 0, maxVersion: 1 },
    ]);
  });
});
