/**
 * kafkajs 2.2.4 over SASL_SSL with SCRAM-SHA-256 and SCRAM-SHA-512 (and PLAIN over SASL_PLAINTEXT): produce, then
 * consume in a group, against an in-process broker whose certificates openssl makes for this file. A wrong
 * password fails to connect with the broker's SASL_AUTHENTICATION_FAILED message.
 */
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeCertificates, pem, type TestCertificates } from '../auth/support.js';
import { startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let certs: TestCertificates;
let env: InProcessBroker;
const port = (name: string) => env.broker.listeners.find((l) => l.name === name)!.port;

beforeAll(async () => {
  certs = makeCertificates();
  env = await startInProcessBroker({
    listeners: 'SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    sslCertFile: certs.serverCert,
    sslKeyFile: certs.serverKey,
    saslUser: ['alice:alice-secret'],
  });
}, 60_000);

afterAll(async () => {
  await env?.close();
  rmSync(certs.dir, { recursive: true, force: true });
});

function client(listener: 'SASL_SSL' | 'SASL_PLAINTEXT', sasl: SASLOptions, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [`localhost:${port(listener)}`],
    ssl: listener === 'SASL_SSL' ? { ca: [pem(certs.caCert)], servername: 'localhost' } : undefined,
    sasl,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
    connectionTimeout: 5000,
  });
}

async function roundTrip(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'one' }, { value: 'two' }, { value: 'three' }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${seen.length}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.length === 3) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

describe('kafkajs with SASL', () => {
  test('SCRAM-SHA-256 over TLS produces and consumes', async () => {
    const kafka = client('SASL_SSL', { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' }, 'kafkajs-scram256');
    expect(await roundTrip(kafka, 'kafkajs-scram-256')).toEqual(['one', 'two', 'three']);
  }, 60_000);

  test('SCRAM-SHA-512 over TLS produces and consumes', async () => {
    const kafka = client('SASL_SSL', { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, 'kafkajs-scram512');
    expect(await roundTrip(kafka, 'kafkajs-scram-512')).toEqual(['one', 'two', 'three']);
  }, 60_000);

  test('PLAIN over SASL_PLAINTEXT produces and consumes', async () => {
    const kafka = client('SASL_PLAINTEXT', { mechanism: 'plain', username: 'alice', password: 'alice-secret' }, 'kafkajs-plain');
    expect(await roundTrip(kafka, 'kafkajs-plain')).toEqual(['one', 'two', 'three']);
  }, 60_000);

  test('a wrong SCRAM password is refused with the broker\'s SASL_AUTHENTICATION_FAILED message', async () => {
    const admin = client('SASL_SSL', { mechanism: 'scram-sha-256', username: 'alice', password: 'wrong' }, 'kafkajs-bad').admin();
    await expect(admin.connect()).rejects.toMatchObject({
      name: 'KafkaJSSASLAuthenticationError',
      message: 'SASL SCRAM SHA256 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
    });
    await admin.disconnect();
    expect(env.broker.stats().server.failedAuthentications).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
