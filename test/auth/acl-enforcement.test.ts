// What each API checks with `--authorizer acl` (KafkaApis / AuthHelper), as raw requests over SASL_PLAINTEXT: the
// code without the ACL, and the request going through once the ACL exists. User:admin is a super user and sets up
// topics and ACLs; User:alice is the principal under test.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, authenticate } from './support.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { AclOperation as Op, AclPermissionType as Perm, PatternType, ResourceType } from '../../src/auth/acl.js';

let tb: TestBroker;
let admin: RawClient;
let alice: RawClient;
const ZERO = Buffer.alloc(16);

async function login(user: string): Promise<RawClient> {
  const c = await RawClient.connect(tb.port);
  const res = await authenticate(c, 'PLAIN', user, `${user}-secret`);
  expect(res.errorCode).toBe(0);
  return c;
}

beforeEach(async () => {
  tb = await startTestBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: 'PLAIN',
    saslUser: ['admin:admin-secret', 'alice:alice-secret'],
    authorizer: 'acl',
    superUsers: 'User:admin',
    groupInitialRebalanceDelayMs: 0,
  });
  admin = await login('admin');
  alice = await login('alice');
  const created = await admin.send(ApiKey.CreateTopics, 7, { topics: ['orders', 'secret'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 5000 });
  expect(created.topics.map((t: any) => t.errorCode)).toEqual([0, 0]);
});
afterEach(async () => {
  admin.close();
  alice.close();
  await tb.stop();
});

async function allow(resourceType: number, resourceName: string, operation: number, fields: Record<string, unknown> = {}): Promise<void> {
  const res = await admin.send(ApiKey.CreateAcls, 3, {
    creations: [{ resourceType, resourceName, resourcePatternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation, permissionType: Perm.ALLOW, ...fields }],
  });
  expect(res.results[0].errorCode).toBe(0);
}

const produce = (topic: string, fields: Record<string, unknown> = {}, batch = buildRecordBatch({ records: [{ value: Buffer.from('v') }] } as any)) =>
  alice.send(ApiKey.Produce, 9, { acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }], ...fields });

describe('ACL enforcement per API', () => {
  it('Produce needs WRITE on the topic: TOPIC_AUTHORIZATION_FAILED without it', async () => {
    expect((await produce('orders')).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'orders', Op.WRITE);
    expect((await produce('orders')).responses[0].partitionResponses[0].errorCode).toBe(0);
    expect((await produce('secret')).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });

  it('transactional Produce needs WRITE on the transactional id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED', async () => {
    await allow(ResourceType.TOPIC, 'orders', Op.WRITE);
    const txnBatch = buildRecordBatch({ records: [{ value: Buffer.from('v') }], attributes: 0x10, producerId: 7n, producerEpoch: 0, baseSequence: 0 } as any);
    const res = await produce('orders', { transactionalId: 'tx' }, txnBatch);
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  });

  it('Fetch needs READ on the topic', async () => {
    const fetch = () =>
      alice.send(ApiKey.Fetch, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' });
    expect((await fetch()).responses[0].partitions[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'orders', Op.READ);
    expect((await fetch()).responses[0].partitions[0].errorCode).toBe(0);
  });

  it('Metadata lists only topics the principal may DESCRIBE; named ones it may not answer TOPIC_AUTHORIZATION_FAILED', async () => {
    const all = async () => (await alice.send(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false })).topics.map((t: any) => t.name);
    expect(await all()).toEqual([]);
    await allow(ResourceType.TOPIC, 'orders', Op.READ);
    expect(await all()).toEqual(['orders']);
    const named = await alice.send(ApiKey.Metadata, 12, { topics: [{ name: 'orders', topicId: ZERO }, { name: 'secret', topicId: ZERO }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
    expect(named.topics.map((t: any) => [t.name, t.errorCode])).toEqual([['orders', 0], ['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
    // READ implies DESCRIBE: bits 3 (READ) and 8 (DESCRIBE).
    expect(named.topics[0].topicAuthorizedOperations).toBe((1 << 3) | (1 << 8));
  });

  it('Metadata auto-creation needs CREATE on the cluster or the topic', async () => {
    await allow(ResourceType.TOPIC, 'fresh', Op.DESCRIBE);
    const ask = () => alice.send(ApiKey.Metadata, 12, { topics: [{ name: 'fresh', topicId: ZERO }], allowAutoTopicCreation: true });
    expect((await ask()).topics[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'fresh', Op.CREATE);
    const created = await ask();
    expect(created.topics[0].errorCode).toBe(0);
    expect(created.topics[0].partitions.length).toBeGreaterThan(0);
  });

  it('ListOffsets needs DESCRIBE on the topic', async () => {
    const list = () => alice.send(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    expect((await list()).topics[0].partitions[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'orders', Op.DESCRIBE);
    expect((await list()).topics[0].partitions[0].errorCode).toBe(0);
  });

  it('OffsetCommit needs READ on the group, then READ on each topic; OffsetFetch DESCRIBE on both', async () => {
    const commit = () => alice.send(ApiKey.OffsetCommit, 8, { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
    const fetch = () => alice.send(ApiKey.OffsetFetch, 7, { groupId: 'g', topics: [{ name: 'orders', partitionIndexes: [0] }], requireStable: false });
    expect((await commit()).topics[0].partitions[0].errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    expect((await fetch()).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    await allow(ResourceType.GROUP, 'g', Op.READ);
    expect((await commit()).topics[0].partitions[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const refused = await fetch();
    expect(refused.errorCode).toBe(0);
    expect(refused.topics[0].partitions[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'orders', Op.READ);
    expect((await commit()).topics[0].partitions[0].errorCode).toBe(0);
    const fetched = await fetch();
    expect(fetched.topics[0].partitions[0]).toMatchObject({ errorCode: 0, committedOffset: 1n });
  });

  it('JoinGroup and Heartbeat need READ on the group; FindCoordinator DESCRIBE', async () => {
    const join = () => alice.send(ApiKey.JoinGroup, 7, { groupId: 'g', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] });
    expect((await join()).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    expect((await alice.send(ApiKey.Heartbeat, 4, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null })).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const find = await alice.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g'] });
    expect(find.coordinators[0]).toMatchObject({ key: 'g', errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, nodeId: -1 });
    await allow(ResourceType.GROUP, 'g', Op.READ);
    expect((await alice.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g'] })).coordinators[0].errorCode).toBe(0);
    // The first join of a v4+ member answers MEMBER_ID_REQUIRED: past the authorizer.
    expect((await join()).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  });

  it('DescribeGroups needs DESCRIBE, DeleteGroups DELETE, and ListGroups lists only describable groups', async () => {
    await admin.send(ApiKey.OffsetCommit, 8, { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
    expect((await alice.send(ApiKey.DescribeGroups, 5, { groups: ['g'], includeAuthorizedOperations: true })).groups[0].errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    expect((await alice.send(ApiKey.ListGroups, 4, { statesFilter: [] })).groups).toEqual([]);
    expect((await alice.send(ApiKey.DeleteGroups, 2, { groupsNames: ['g'] })).results[0].errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    await allow(ResourceType.GROUP, 'g', Op.DESCRIBE);
    const described = await alice.send(ApiKey.DescribeGroups, 5, { groups: ['g'], includeAuthorizedOperations: true });
    expect(described.groups[0].errorCode).toBe(0);
    expect(described.groups[0].authorizedOperations).toBe(1 << 8);
    expect((await alice.send(ApiKey.ListGroups, 4, { statesFilter: [] })).groups.map((g: any) => g.groupId)).toEqual(['g']);
    await allow(ResourceType.GROUP, 'g', Op.DELETE);
    expect((await alice.send(ApiKey.DeleteGroups, 2, { groupsNames: ['g'] })).results[0].errorCode).toBe(0);
  });

  it('CreateTopics needs CREATE (cluster or topic), DeleteTopics DELETE', async () => {
    const create = (name: string) => alice.send(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 });
    const refused = await create('mine');
    expect(refused.topics[0]).toMatchObject({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.' });
    await allow(ResourceType.TOPIC, 'mine', Op.CREATE);
    const created = await create('mine');
    expect(created.topics[0].errorCode).toBe(0);
    // No DESCRIBE_CONFIGS: the configs are withheld.
    expect(created.topics[0].topicConfigErrorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const del = () => alice.send(ApiKey.DeleteTopics, 6, { topics: [{ name: 'mine', topicId: ZERO }], timeoutMs: 5000 });
    expect((await del()).responses[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'mine', Op.DELETE);
    expect((await del()).responses[0].errorCode).toBe(0);
    await allow(ResourceType.CLUSTER, 'kafka-cluster', Op.CREATE);
    expect((await create('other')).topics[0].errorCode).toBe(0);
  });

  it('DescribeConfigs and AlterConfigs need DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or the cluster for a broker', async () => {
    const describe = () => alice.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] }, { resourceType: 4, resourceName: '1', configurationKeys: ['log.retention.ms'] }], includeSynonyms: false, includeDocumentation: false });
    expect((await describe()).results.map((r: any) => r.errorCode)).toEqual([ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
    const alter = () => alice.send(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }] }], validateOnly: false });
    expect((await alter()).responses[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'orders', Op.ALTER_CONFIGS);
    expect((await describe()).results.map((r: any) => r.errorCode)).toEqual([0, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
    expect((await alter()).responses[0].errorCode).toBe(0);
  });

  it('transactions v2: Produce v12 adds only the partitions of topics the principal may WRITE to the transaction', async () => {
    await allow(ResourceType.TOPIC, 'orders', Op.WRITE);
    await allow(ResourceType.TRANSACTIONAL_ID, 'tx2', Op.WRITE);
    expect((await alice.send(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx2'] })).coordinators[0].errorCode).toBe(0);
    const init = await alice.send(ApiKey.InitProducerId, 5, { transactionalId: 'tx2', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    expect(init.errorCode).toBe(0);
    const batch = () => buildRecordBatch({ records: [{ value: Buffer.from('v') }], attributes: 0x10, producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence: 0 } as any);
    const res = await alice.send(ApiKey.Produce, 12, {
      acks: 1, timeoutMs: 5000, transactionalId: 'tx2',
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch() }] }, { name: 'secret', partitionData: [{ index: 0, records: batch() }] }],
    });
    expect(res.responses.map((t: any) => [t.name, t.partitionResponses[0].errorCode])).toEqual([['orders', 0], ['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
    // The unauthorized partition never joined the transaction (no marker will be written there).
    const described = await admin.send(ApiKey.DescribeTransactions, 0, { transactionalIds: ['tx2'] });
    expect(described.transactionStates[0].topics).toEqual([{ topic: 'orders', partitions: [0] }]);
  });

  it('InitProducerId: a transactional id needs WRITE on it, idempotence IDEMPOTENT_WRITE or WRITE on some topic', async () => {
    const txn = () => alice.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    const idempotent = () => alice.send(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    expect((await txn()).errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect((await idempotent()).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    await allow(ResourceType.TOPIC, 'orders', Op.WRITE);
    expect((await idempotent()).errorCode).toBe(0);
    await allow(ResourceType.TRANSACTIONAL_ID, 'tx', Op.WRITE);
    // WRITE implies DESCRIBE, which FindCoordinator needs; the lookup also creates __transaction_state.
    expect((await alice.send(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx'] })).coordinators[0].errorCode).toBe(0);
    expect((await txn()).errorCode).toBe(0);
  });

  it('SCRAM credential APIs need DESCRIBE / ALTER on the cluster; DescribeCluster reports the allowed cluster operations', async () => {
    expect((await alice.send(ApiKey.DescribeUserScramCredentials, 0, { users: null })).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const alter = await alice.send(ApiKey.AlterUserScramCredentials, 0, { deletions: [{ name: 'admin', mechanism: 1 }], upsertions: [] });
    expect(alter.results[0].errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    expect((await alice.send(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations).toBe(0);
    await allow(ResourceType.CLUSTER, 'kafka-cluster', Op.DESCRIBE);
    expect((await alice.send(ApiKey.DescribeUserScramCredentials, 0, { users: null })).errorCode).toBe(0);
    expect((await alice.send(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations).toBe(1 << 8);
    expect((await admin.send(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).clusterAuthorizedOperations).toBe(8096);
  });

  it('a DENY ACL overrides an ALLOW for the same principal', async () => {
    await allow(ResourceType.TOPIC, 'orders', Op.WRITE);
    await allow(ResourceType.TOPIC, 'orders', Op.WRITE, { permissionType: Perm.DENY });
    expect((await produce('orders')).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });
});
