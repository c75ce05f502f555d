/**
 * kafkajs 2.2.4 over SASL_PLAINTEXT (SCRAM-SHA-256) against a broker with `--authorizer acl`, User:admin as super
 * user and allow.everyone.if.no.acl.found false. ACLs are created with kafkajs' own admin.createAcls (CreateAcls
 * from a real client), then each principal does what its ACLs allow and nothing else.
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorTypes, rejection, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let env: InProcessBroker;
let bootstrap: string;
const consumers: Consumer[] = [];

function client(user: string): Kafka {
  return new Kafka({
    clientId: `acl-${user}`,
    brokers: [bootstrap],
    sasl: { mechanism: 'scram-sha-256', username: user, password: `${user}-secret` },
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    connectionTimeout: 5000,
  });
}

async function produce(user: string, topic: string, value: string): Promise<void> {
  const producer = client(user).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ value }] });
  } finally {
    await producer.disconnect();
  }
}

/** Consumes `count` records of `topic` in `groupId` as `user`; rejects with the consumer's crash error. */
async function consume(user: string, topic: string, groupId: string, count: number): Promise<string[]> {
  const consumer = client(user).consumer({ groupId, maxWaitTimeInMs: 200, retry: { retries: 0 } });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed only ${seen.length}`)), 20_000);
      consumer.on(consumer.events.CRASH, (e) => {
        clearTimeout(timer);
        reject(e.payload.error);
      });
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

const allow = (principal: string, resourceType: AclResourceTypes, resourceName: string, operation: AclOperationTypes, pattern = ResourcePatternTypes.LITERAL, permissionType = AclPermissionTypes.ALLOW) => ({
  resourceType,
  resourceName,
  resourcePatternType: pattern,
  principal,
  host: '*',
  operation,
  permissionType,
});

beforeAll(async () => {
  env = await startInProcessBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: 'SCRAM-SHA-256',
    saslUser: ['admin:admin-secret', 'alice:alice-secret', 'bob:bob-secret', 'carol:carol-secret'],
    authorizer: 'acl',
    superUsers: 'User:admin',
    allowEveryoneIfNoAclFound: false,
    autoCreateTopics: false,
    groupInitialRebalanceDelayMs: 0,
  });
  bootstrap = `127.0.0.1:${env.broker.listeners[0]!.port}`;
  // The super user needs no ACL for any of this.
  const admin = client('admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: ['feed', 'other', 'team-a.logs', 'team-b.logs'].map((topic) => ({ topic, numPartitions: 1 })) });
  await admin.createAcls({
    acl: [
      allow('User:alice', AclResourceTypes.TOPIC, 'feed', AclOperationTypes.READ),
      allow('User:alice', AclResourceTypes.GROUP, 'alice-group', AclOperationTypes.READ),
      allow('User:bob', AclResourceTypes.TOPIC, '*', AclOperationTypes.WRITE),
      allow('User:bob', AclResourceTypes.TOPIC, 'feed', AclOperationTypes.WRITE, ResourcePatternTypes.LITERAL, AclPermissionTypes.DENY),
      allow('User:carol', AclResourceTypes.TOPIC, 'team-a.', AclOperationTypes.WRITE, ResourcePatternTypes.PREFIXED),
    ],
  });
  await admin.disconnect();
  await produce('admin', 'feed', 'f1');
  await produce('admin', 'feed', 'f2');
  await produce('admin', 'other', 'o1');
}, 60_000);

afterAll(async () => {
  for (const c of consumers) await c.disconnect().catch(() => undefined);
  await env?.close();
});

describe('ACLs with kafkajs over SASL', () => {
  test('kafkajs describeAcls lists what its createAcls created', async () => {
    const admin = client('admin').admin();
    await admin.connect();
    try {
      const res = await admin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
      // One entry per resource pattern: feed holds alice's ALLOW READ and bob's DENY WRITE.
      expect(res.resources.map((r) => r.resourceName).sort()).toEqual(['*', 'alice-group', 'feed', 'team-a.']);
      expect(res.resources.find((r) => r.resourceName === 'feed')!.acls).toHaveLength(2);
    } finally {
      await admin.disconnect();
    }
  });

  test('a user with READ on one topic and a group consumes it', async () => {
    expect(await consume('alice', 'feed', 'alice-group', 2)).toEqual(['f1', 'f2']);
  });

  test('... and nothing else: another topic, another group', async () => {
    const otherTopic = await rejection(() => consume('alice', 'other', 'alice-group', 1));
    expect(errorTypes(otherTopic)).toContain('TOPIC_AUTHORIZATION_FAILED');
    // The broker answers FindCoordinator with GROUP_AUTHORIZATION_FAILED (test/auth/acl-enforcement.test.ts);
    // kafkajs' brokerPool.withBroker drops that code and reports that no coordinator was found.
    const otherGroup = await rejection(() => consume('alice', 'feed', 'not-alices', 1));
    expect(errorTypes(otherGroup)).toContain('KafkaJSGroupCoordinatorNotFound');
  });

  test('produce to a topic without WRITE gets TOPIC_AUTHORIZATION_FAILED', async () => {
    const err = await rejection(() => produce('alice', 'feed', 'nope'));
    expect(errorTypes(err)).toContain('TOPIC_AUTHORIZATION_FAILED');
  });

  test('a DENY overrides an ALLOW: bob may write every topic but feed', async () => {
    await produce('bob', 'other', 'from-bob');
    const err = await rejection(() => produce('bob', 'feed', 'from-bob'));
    expect(errorTypes(err)).toContain('TOPIC_AUTHORIZATION_FAILED');
  });

  test('prefixed ACLs: carol may write team-a.* and not team-b.*', async () => {
    await produce('carol', 'team-a.logs', 'c1');
    const err = await rejection(() => produce('carol', 'team-b.logs', 'c2'));
    expect(errorTypes(err)).toContain('TOPIC_AUTHORIZATION_FAILED');
  });

  test('Metadata lists only the topics the principal may describe; the super user sees all', async () => {
    const list = async (user: string) => {
      const admin = client(user).admin();
      await admin.connect();
      try {
        return (await admin.listTopics()).sort();
      } finally {
        await admin.disconnect();
      }
    };
    expect(await list('alice')).toEqual(['feed']);
    expect(await list('carol')).toEqual(['team-a.logs']);
    // The super user also sees the internal __consumer_offsets (created by the consumers above), as in Kafka.
    expect((await list('admin')).filter((t) => !t.startsWith('__'))).toEqual(['feed', 'other', 'team-a.logs', 'team-b.logs']);
  });

  test('the super user bypasses every ACL, DENY included', async () => {
    const admin = client('admin').admin();
    await admin.connect();
    try {
      await admin.createAcls({ acl: [allow('User:admin', AclResourceTypes.TOPIC, 'feed', AclOperationTypes.ALL, ResourcePatternTypes.LITERAL, AclPermissionTypes.DENY)] });
    } finally {
      await admin.disconnect();
    }
    await produce('admin', 'feed', 'f3');
    expect(await consume('admin', 'feed', 'admin-group', 3)).toEqual(['f1', 'f2', 'f3']);
  });
});
