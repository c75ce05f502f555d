// The kafka.authorizer.logger audit log (auth/authorizer.ts): denials at info, allows at debug, with Kafka's message
// and the rule that decided, from a broker with --authorizer acl over real connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, authenticate } from './support.js';

let tb: TestBroker;
const lines: any[] = [];

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  tb = await startTestBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    authorizer: 'acl',
    superUsers: 'User:admin',
    saslUser: ['admin:admin-secret'],
    logger: pino({ level: 'debug' }, stream),
  });
}, 60_000);

afterAll(async () => {
  await tb?.stop();
});

const audit = () => lines.filter((l) => l.name === 'kafka.authorizer.logger');
const port = (name: string) => tb.broker.listeners.find((l) => l.name === name)!.port;

async function admin(): Promise<RawClient> {
  const c = await RawClient.connect(port('SASL_PLAINTEXT'));
  expect((await authenticate(c, 'SCRAM-SHA-256', 'admin', 'admin-secret')).errorCode).toBe(0);
  return c;
}

describe('kafka.authorizer.logger', () => {
  it('a super user\'s request is logged at debug as Allowed based on rule SuperUser', async () => {
    const c = await admin();
    try {
      const res = await c.send(ApiKey.CreateTopics, 7, { topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 });
      expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
    } finally {
      c.close();
    }
    expect(audit()).toContainEqual(
      expect.objectContaining({
        level: 20,
        msg: 'Principal = User:admin is Allowed operation = CREATE from host = 127.0.0.1 on resource = Cluster:LITERAL:kafka-cluster for request = CreateTopics with resourceRefCount = 1 based on rule SuperUser',
      }),
    );
  });

  it('a denial without any ACL is logged at info based on rule DefaultDeny; one by a DENY ACL names the ACL', async () => {
    const c = await admin();
    try {
      const created = await c.send(ApiKey.CreateAcls, 3, {
        creations: [{ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:ANONYMOUS', host: '*', operation: 8, permissionType: 2 }],
      });
      expect(created.results[0].errorCode).toBe(0);
    } finally {
      c.close();
    }
    const anonymous = await RawClient.connect(port('PLAINTEXT'));
    try {
      const md = await anonymous.send(ApiKey.Metadata, 12, { topics: [{ topicId: Buffer.alloc(16), name: 'orders' }, { topicId: Buffer.alloc(16), name: 'nothing-here' }], allowAutoTopicCreation: false });
      expect(md.topics.map((t: any) => t.errorCode)).toEqual([ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED]);
    } finally {
      anonymous.close();
    }
    const denied = audit().filter((l) => l.level === 30);
    expect(denied.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'Principal = User:ANONYMOUS is Denied operation = DESCRIBE from host = 127.0.0.1 on resource = Topic:LITERAL:orders for request = Metadata with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl(resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:ANONYMOUS, host=*, operation=DESCRIBE, permissionType=DENY))',
        'Principal = User:ANONYMOUS is Denied operation = DESCRIBE from host = 127.0.0.1 on resource = Topic:LITERAL:nothing-here for request = Metadata with resourceRefCount = 1 based on rule DefaultDeny',
      ]),
    );
  });
});
