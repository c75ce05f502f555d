// The inter-broker listener (src/cluster/inter-broker-security.ts, inter.broker.listener.name): brokers of a cluster
// replicate and send each other requests over the listener the config names, secured as it is — SASL_SSL with a
// SCRAM user and the ACL authorizer (replication and a kafkajs transaction's markers), SSL with client certificates
// required — on a real etcd, three brokers in this process. Kafka's config rules
// (KafkaConfig.getInterBrokerListenerNameAndSecurityProtocol and its checks) first.
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaClient } from '../../src/client/client.js';
import type { ClientSecurity } from '../../src/client/security.js';
import { buildRecordBatch } from '../../src/client/records.js';
import { resolveBrokerConfig, type BrokerOptions } from '../../src/metadata/broker-config.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { makeCertificates, pem, type TestCertificates } from '../auth/support.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { localInterBrokerEndpoint } from '../../src/cluster/inter-broker-security.js';
import { captureLogger } from './cluster-harness.js';
import { startInProcessCluster, waitFor, THREE_BROKER_FAILOVER_OPTIONS, type InProcessCluster } from './in-process-cluster-harness.js';

describe('inter.broker.listener.name and security.inter.broker.protocol (config rules)', () => {
  const etcd = 'http://127.0.0.1:2379';
  const saslListeners = { listeners: 'SASL_SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0', sslCertFile: '/c.pem', sslKeyFile: '/k.pem' };

  it('defaults to the listener named PLAINTEXT, and a cluster without one is refused naming the valid listeners', () => {
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners })).not.toThrow();
    expect(() => resolveBrokerConfig({ etcd, listeners: 'SASL_SSL://127.0.0.1:0', sslCertFile: '/c.pem', sslKeyFile: '/k.pem' })).toThrow(
      /securityInterBrokerProtocol: expected a listener name defined in listeners .*valid options based on the configured listeners are SASL_SSL .*--inter-broker-listener-name SASL_SSL keeps that/,
    );
    // A single broker has no peers: today's SASL-only single brokers keep starting.
    expect(() => resolveBrokerConfig({ listeners: 'SASL_SSL://127.0.0.1:0', sslCertFile: '/c.pem', sslKeyFile: '/k.pem' })).not.toThrow();
  });

  it('refuses both settings at once, an unknown listener, a protocol that is not the listener\'s, and SASL without a mechanism it enables or a user', () => {
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, interBrokerListenerName: 'SASL_SSL', securityInterBrokerProtocol: 'SASL_SSL', interBrokerSaslUser: 'b:p' })).toThrow(
      /only one of inter.broker.listener.name and security.inter.broker.protocol should be set/,
    );
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, interBrokerListenerName: 'REPLICATION' })).toThrow(/interBrokerListenerName.*are SASL_SSL,PLAINTEXT/);
    // Named explicitly: checked on a single broker too (a typo is never silent).
    expect(() => resolveBrokerConfig({ ...saslListeners, interBrokerListenerName: 'REPLICATION' })).toThrow(/interBrokerListenerName/);
    expect(() =>
      resolveBrokerConfig({ etcd, listeners: 'INTERNAL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0', listenerSecurityProtocolMap: 'INTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT', securityInterBrokerProtocol: 'SSL' }),
    ).toThrow(/securityInterBrokerProtocol/);
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, interBrokerListenerName: 'sasl_ssl' })).toThrow(/interBrokerSaslUser: expected name:password/);
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, interBrokerListenerName: 'SASL_SSL', interBrokerSaslUser: 'broker:' })).toThrow(/interBrokerSaslUser/);
    expect(() =>
      resolveBrokerConfig({ etcd, ...saslListeners, saslEnabledMechanisms: 'SCRAM-SHA-512', interBrokerListenerName: 'SASL_SSL', saslMechanismInterBrokerProtocol: 'PLAIN', interBrokerSaslUser: 'b:p' }),
    ).toThrow(/saslMechanismInterBrokerProtocol: expected one of sasl.enabled.mechanisms \(SCRAM-SHA-512\)/);
    // The mechanism matters only when the inter-broker listener uses SASL (Kafka checks it then only).
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, interBrokerListenerName: 'SASL_SSL', saslMechanismInterBrokerProtocol: 'GSSAPI', interBrokerSaslUser: 'b:p' })).toThrow(/saslMechanismInterBrokerProtocol/);
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, saslMechanismInterBrokerProtocol: 'GSSAPI' })).not.toThrow();
    expect(() => resolveBrokerConfig({ sslEndpointIdentificationAlgorithm: 'none' })).toThrow(/sslEndpointIdentificationAlgorithm: expected https or an empty string/);
    expect(() => resolveBrokerConfig({ sslEndpointIdentificationAlgorithm: 'HTTPS' })).not.toThrow();
    // The password never appears in the error.
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, interBrokerListenerName: 'SASL_SSL', interBrokerSaslUser: ':secret-password' })).toThrow(/^(?!.*secret-password)/);
    expect(() => resolveBrokerConfig({ etcd, ...saslListeners, interBrokerListenerName: 'SASL_SSL', interBrokerSaslUser: 'broker:pw' })).not.toThrow();
  });
});

describe('an inter-broker listener only this host can reach', () => {
  it('is named when it binds every interface and advertises a loopback address; an advertised host or a named bind is fine', () => {
    const bound = [
      { name: 'CLIENT', bindHost: '127.0.0.1' },
      { name: 'PLAINTEXT', bindHost: '0.0.0.0' },
    ];
    expect(localInterBrokerEndpoint(bound, [{ name: 'CLIENT', host: 'node1' }, { name: 'PLAINTEXT', host: '127.0.0.1' }], 'PLAINTEXT')).toMatch(
      /inter-broker listener PLAINTEXT binds every interface but advertises 127.0.0.1: .*--advertised-listeners \(PLAINTEXT:\/\/<host>:<port>\)/,
    );
    expect(localInterBrokerEndpoint(bound, [{ name: 'PLAINTEXT', host: 'node1.example' }], 'PLAINTEXT')).toBeUndefined();
    expect(localInterBrokerEndpoint(bound, [{ name: 'CLIENT', host: '127.0.0.1' }], 'CLIENT')).toBeUndefined();
  });
});

describe('brokers reach each other on the inter-broker listener, secured', () => {
  let etcd: EtcdServer;
  let certs: TestCertificates;
  let cluster: InProcessCluster | undefined;
  let client: KafkaClient | undefined;
  const log = captureLogger();
  beforeAll(async () => {
    etcd = await startEtcd();
    certs = makeCertificates();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    rmSync(certs.dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await client?.close();
    await cluster?.close();
    client = undefined;
    cluster = undefined;
  });

  /** Every broker's port of one listener (Broker.listeners has them all as bound). */
  const bootstrapOf = (c: InProcessCluster, listener: string): string =>
    [...c.brokers.values()].map((b) => b.listeners.find((l) => l.name === listener)!).map((l) => `127.0.0.1:${l.port}`).join(',');

  /** RF=3, min.insync.replicas=3: acks=all is answered only once both followers replicated over the channel. */
  async function replicatedProduce(c: InProcessCluster, kafka: KafkaClient, topic: string): Promise<void> {
    const [created] = await kafka.createTopics([{ name: topic, numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } }]);
    expect(created!.errorCode).toBe(ErrorCode.NONE);
    await waitFor('a leader with the full ISR', async () => {
      const p = (await kafka.metadata([topic])).topics[0]?.partitions[0];
      return p !== undefined && p.leader >= 0 && p.isr.length === 3 ? p : undefined;
    });
    for (let i = 0; i < 5; i++) {
      const result = await kafka.produce(topic, 0, buildRecordBatch([{ key: null, value: Buffer.from(`secured-${i}`) }]), -1, 10_000);
      expect(result.baseOffset).toBe(BigInt(i));
    }
    // Every replica holds the records, read from each broker's own log.
    for (const [nodeId, broker] of c.brokers) {
      const values = await waitFor(`broker ${nodeId}'s replica`, async () => {
        const records = await broker.records(topic, 0);
        return records.length === 5 ? records.map((r) => r.value?.toString()) : undefined;
      });
      expect(values).toEqual([0, 1, 2, 3, 4].map((i) => `secured-${i}`));
    }
  }

  it('SASL_SSL only: replication, acks=all and a transaction\'s markers over SCRAM-SHA-256 as a super user, with the ACL authorizer on', async () => {
    const options: BrokerOptions = {
      ...THREE_BROKER_FAILOVER_OPTIONS,
      listeners: 'SASL_SSL://127.0.0.1:0',
      sslCertFile: certs.serverCert,
      sslKeyFile: certs.serverKey,
      sslCaFile: certs.caCert,
      saslEnabledMechanisms: 'SCRAM-SHA-256',
      saslUser: ['broker:broker-secret', 'admin:admin-secret'],
      interBrokerListenerName: 'SASL_SSL',
      interBrokerSaslUser: 'broker:broker-secret',
      authorizer: 'acl',
      superUsers: 'User:broker;User:admin',
    };
    cluster = await startInProcessCluster(etcd.endpoint, [1, 2, 3], { ...options, logger: log.logger });
    const security: ClientSecurity = { protocol: 'SASL_SSL', tls: { ca: pem(certs.caCert) }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'admin', password: 'admin-secret' } };
    client = new KafkaClient({ bootstrap: bootstrapOf(cluster, 'SASL_SSL'), clientId: 'inter-broker-sasl', security, requestTimeoutMs: 15_000 });
    await replicatedProduce(cluster, client, 'sasl-replicated');

    // A kafkajs transaction over three partitions led by the three brokers: the coordinator's markers reach the
    // other leaders over the SASL_SSL inter-broker channel, so a read_committed consumer sees every record.
    const topic = 'sasl-transactions';
    const [created] = await client.createTopics([{ name: topic, numPartitions: 3, replicationFactor: 3, configs: {} }]);
    expect(created!.errorCode).toBe(ErrorCode.NONE);
    const leaders = await waitFor('three leaders on three brokers', async () => {
      const parts = (await client!.metadata([topic])).topics[0]?.partitions ?? [];
      return parts.length === 3 && parts.every((p) => p.leader >= 0 && p.isr.length === 3) ? new Set(parts.map((p) => p.leader)) : undefined;
    });
    expect(leaders.size).toBe(3);
    const kafka = new Kafka({
      clientId: 'inter-broker-sasl-txn',
      brokers: bootstrapOf(cluster, 'SASL_SSL').split(','),
      ssl: { ca: [pem(certs.caCert)] },
      sasl: { mechanism: 'scram-sha-256', username: 'admin', password: 'admin-secret' },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ transactionalId: 'sasl-txn', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const txn = await producer.transaction();
      await txn.send({ topic, messages: [0, 1, 2].map((p) => ({ partition: p, value: `committed-${p}` })) });
      await txn.commit();
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka.consumer({ groupId: 'sasl-txn-reader', readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await waitFor('every committed record, read_committed', () => (seen.length >= 3 ? true : undefined), 30_000);
    } finally {
      await consumer.disconnect();
    }
    expect(seen.sort()).toEqual(['committed-0', 'committed-1', 'committed-2']);
  }, 120_000);

  it('SSL with client certificates required beside a PLAINTEXT client listener: the brokers present their own certificate to each other', async () => {
    const options: BrokerOptions = {
      ...THREE_BROKER_FAILOVER_OPTIONS,
      listeners: 'PLAINTEXT://127.0.0.1:0,REPLICATION://127.0.0.1:0',
      listenerSecurityProtocolMap: 'PLAINTEXT:PLAINTEXT,REPLICATION:SSL',
      sslCertFile: certs.serverCert,
      sslKeyFile: certs.serverKey,
      sslCaFile: certs.caCert,
      sslClientAuth: 'required',
      interBrokerListenerName: 'REPLICATION',
    };
    cluster = await startInProcessCluster(etcd.endpoint, [1, 2, 3], { ...options, logger: log.logger });
    client = new KafkaClient({ bootstrap: bootstrapOf(cluster, 'PLAINTEXT'), clientId: 'inter-broker-ssl', requestTimeoutMs: 15_000 });
    await replicatedProduce(cluster, client, 'ssl-replicated');
  }, 90_000);

  it('a broker with the wrong inter-broker password replicates nothing and leaves the ISR, saying why once; the others go on', async () => {
    const options: BrokerOptions = {
      ...THREE_BROKER_FAILOVER_OPTIONS,
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      saslEnabledMechanisms: 'PLAIN',
      saslUser: ['broker:broker-secret', 'admin:admin-secret'],
      interBrokerListenerName: 'SASL_PLAINTEXT',
      interBrokerSaslUser: 'broker:broker-secret',
    };
    cluster = await startInProcessCluster(etcd.endpoint, [1, 2, 3], { ...options, logger: log.logger }, new Map(), (id) => (id === 3 ? { interBrokerSaslUser: 'broker:wrong-password' } : {}));
    const security: ClientSecurity = { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' } };
    client = new KafkaClient({ bootstrap: bootstrapOf(cluster, 'SASL_PLAINTEXT'), clientId: 'inter-broker-bad-password', security, requestTimeoutMs: 15_000 });
    const topic = 'bad-password';
    const [created] = await client.createTopics([{ name: topic, numPartitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    expect(created!.errorCode).toBe(ErrorCode.NONE);
    // A partition broker 3 follows (placement spreads the three leaderships over the three brokers).
    const followed = await waitFor('a partition led by broker 1 or 2', async () => {
      const p = (await client!.metadata([topic])).topics[0]?.partitions.find((q) => q.leader === 1 || q.leader === 2);
      return p?.partition;
    });
    const offsets: bigint[] = [];
    for (let i = 0; i < 3; i++) offsets.push((await client.produce(topic, followed, buildRecordBatch([{ key: null, value: Buffer.from(`v${i}`) }]), -1, 20_000)).baseOffset);
    expect(offsets).toEqual([0n, 1n, 2n]);
    const isr = await waitFor('the ISR without the misconfigured broker', async () => {
      const p = (await client!.metadata([topic])).topics[0]?.partitions.find((q) => q.partition === followed);
      return p !== undefined && !p.isr.includes(3) ? [...p.isr].sort() : undefined;
    });
    expect(isr).toEqual([1, 2]);
    expect(await cluster.brokers.get(3)!.records(topic, followed)).toEqual([]);
    for (const id of [1, 2]) {
      // A follower's high watermark comes with its next fetch: waited for, not read at once.
      const values = await waitFor(`broker ${id}'s replica`, async () => {
        const records = await cluster!.brokers.get(id)!.records(topic, followed);
        return records.length === 3 ? records.map((r) => r.value?.toString()) : undefined;
      });
      expect(values).toEqual(['v0', 'v1', 'v2']);
    }
    const warnings = log.lines.filter((l) => l.msg === 'cannot connect to the leader on the inter-broker listener; retrying after the backoff' && String(l.reason).includes('SASL_AUTHENTICATION_FAILED'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    // Once per reason and leader (two leaders here), not at every backoff (100 ms).
    expect(warnings.length).toBeLessThanOrEqual(4);
  }, 90_000);
});
