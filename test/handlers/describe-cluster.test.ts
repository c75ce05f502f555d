// DescribeCluster over the wire (our codec), against Kafka 3.9's broker-listener answers
// (KafkaApis.handleDescribeCluster → AuthHelper.computeDescribeClusterResponse).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
beforeAll(async () => {
  tb = await startTestBroker({ nodeId: 7 });
  client = await TestClient.connect(tb.port);
});
afterAll(async () => {
  client.close();
  await tb.stop();
});

describe('DescribeCluster', () => {
  it.each([0, 1])('v%i names the cluster, this broker as the only broker and as controller', async (version) => {
    const res = await client.send(ApiKey.DescribeCluster, version, { includeClusterAuthorizedOperations: false });
    const md = await client.send(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(res).toMatchObject({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      clusterId: md.clusterId,
      controllerId: 7,
      brokers: [{ brokerId: 7, host: '127.0.0.1', port: tb.port, rack: null }],
      clusterAuthorizedOperations: -2147483648,
    });
    expect(res.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    if (version === 1) expect(res.endpointType).toBe(1);
  });

  it('reports every CLUSTER operation (8096) when asked, as Kafka does without an authorizer', async () => {
    const res = await client.send(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true });
    expect(res.clusterAuthorizedOperations).toBe(8096);
  });

  it('answers a CONTROLLER endpoint request with MISMATCHED_ENDPOINT_TYPE and an unknown type with UNSUPPORTED_ENDPOINT_TYPE (KIP-919)', async () => {
    const controller = await client.send(ApiKey.DescribeCluster, 1, { endpointType: 2 });
    expect(controller).toMatchObject({
      errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
      errorMessage: 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
      brokers: [],
      controllerId: -1,
    });
    const unknown = await client.send(ApiKey.DescribeCluster, 1, { endpointType: 9 });
    expect(unknown).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'Unsupported endpoint type 9', brokers: [] });
  });
});
