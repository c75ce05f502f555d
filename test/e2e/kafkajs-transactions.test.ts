/**
 * Issue 9, transactions: kafkajs 2.2.4 consume-transform-produce (exactly-once) against an in-process broker.
 *
 * A consumer in group `ctp` reads an input topic; each chunk of its batches is one transaction of a producer with
 * a transactionalId: the transformed messages go to the output topic (same partition) with transaction.send, the
 * chunk's next input offset goes with transaction.sendOffsets({ consumerGroupId, topics }) (AddOffsetsToTxn +
 * TxnOffsetCommit), then commit. One chunk is aborted instead, and the consumer is replaced, as an application
 * that failed mid-transaction would restart: the new member resumes from the group's committed offsets, which
 * must not include the aborted transaction's (Kafka keeps TxnOffsetCommit offsets pending until the COMMIT marker
 * reaches __consumer_offsets and drops them on ABORT), so the aborted chunk is processed again.
 *
 * Kafka's outcome, asserted here: read_committed (kafkajs's default isolation) sees every input exactly once in
 * the output, per partition in input order; read_uncommitted also sees the aborted chunk's output; the group's
 * committed offsets end at the input's end offsets.
 *
 * Also: InitProducerId with a transaction timeout above transaction.max.timeout.ms (900000) is refused with
 * INVALID_TRANSACTION_TIMEOUT, but only with a transactional id (Kafka's TransactionCoordinator.handleInitProducerId
 * accepts any timeout when the transactional id is null, as kafkajs's idempotent connect() sends it).
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { errorTypes, kafkaClient, rejection, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

const PARTITIONS = 3;
const INPUTS = 90; // 30 per partition
const CHUNK = 5;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function setUp(): Promise<{ env: InProcessBroker; kafka: Kafka }> {
  const env = await startInProcessBroker();
  cleanups.push(() => env.close());
  const kafka = kafkaClient(env.bootstrap, 'e2e-kafkajs-transactions', { retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
  return { env, kafka };
}

async function createTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })) })).toBe(true);
  } finally {
    await admin.disconnect();
  }
}

async function transactionalProducer(kafka: Kafka, transactionalId: string, transactionTimeout?: number): Promise<Producer> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    ...(transactionTimeout === undefined ? {} : { transactionTimeout }),
  });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return producer;
}

async function startConsumer(kafka: Kafka, groupId: string, topic: string, readUncommitted: boolean, eachBatchAutoResolve: boolean, eachBatch: (payload: EachBatchPayload) => Promise<void>): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200, sessionTimeout: 10_000, heartbeatInterval: 500, retry: { retries: 5 } });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve, eachBatch });
  return consumer;
}

/** Everything a fresh consumer (its own group) reads from `topic` until `expected` messages and then 1.5 s of quiet. */
async function readAll(kafka: Kafka, topic: string, readUncommitted: boolean, expected: number): Promise<Array<{ partition: number; offset: string; value: string }>> {
  const got: Array<{ partition: number; offset: string; value: string }> = [];
  const consumer = await startConsumer(kafka, `verify-${topic}-${readUncommitted ? 'ru' : 'rc'}`, topic, readUncommitted, true, async ({ batch }) => {
    for (const m of batch.messages) got.push({ partition: batch.partition, offset: m.offset, value: m.value!.toString() });
  });
  await waitFor(`${expected} messages from ${topic}`, () => got.length >= expected, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await consumer.disconnect();
  return got;
}

const inputValue = (i: number): string => `in-${i}`;
const transform = (value: string): string => `out:${value}`;

describe('kafkajs 2.2.4 transactional producer', () => {
  test('consume-transform-produce with one aborted transaction and a restarted consumer: read_committed output holds every input exactly once in input order, read_uncommitted also the aborted output, the aborted offsets never become the group\'s, and the committed offsets end at the input\'s end', { timeout: 120_000 }, async () => {
    const { kafka } = await setUp();
    const input = 'ctp-in';
    const output = 'ctp-out';
    const groupId = 'ctp';
    await createTopics(kafka, [input, output]);

    const plain = kafka.producer({ allowAutoTopicCreation: false });
    await plain.connect();
    cleanups.push(() => plain.disconnect());
    await plain.send({ topic: input, acks: -1, messages: Array.from({ length: INPUTS }, (_, i) => ({ partition: i % PARTITIONS, value: inputValue(i) })) });

    const producer = await transactionalProducer(kafka, 'ctp-txn');
    const committedInputs: string[] = [];
    /** Next input offset per partition as committed by the last committed transaction (what the group should hold). */
    const lastCommitted = new Map<number, string>();
    const state: { aborted: { partition: number; firstOffset: string; nextOffset: string; values: string[] } | null } = { aborted: null };
    let chunksDone = 0;
    const ABORT_AT_CHUNK = 2; // the third chunk: partition 0 has committed chunks before it
    let stopped = false;
    const errors: unknown[] = [];

    const processChunk = async (topic: string, partition: number, chunk: KafkaMessage[], abort: boolean): Promise<void> => {
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic: output, acks: -1, messages: chunk.map((m) => ({ partition, value: transform(m.value!.toString()) })) });
        const nextOffset = (BigInt(chunk[chunk.length - 1]!.offset) + 1n).toString();
        await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }] });
        if (abort) {
          await transaction.abort();
          state.aborted = { partition, firstOffset: chunk[0]!.offset, nextOffset, values: chunk.map((m) => m.value!.toString()) };
        } else {
          await transaction.commit();
          lastCommitted.set(partition, nextOffset);
          committedInputs.push(...chunk.map((m) => m.value!.toString()));
        }
      } catch (error) {
        errors.push(error);
        if (transaction.isActive()) await transaction.abort().catch(() => undefined);
        throw error;
      }
    };

    const eachBatch = (member: 'first' | 'second') => async ({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> => {
      for (let k = 0; k < batch.messages.length; k += CHUNK) {
        if ((member === 'first' && stopped) || !isRunning() || isStale()) return;
        const chunk = batch.messages.slice(k, k + CHUNK);
        const abort = member === 'first' && chunksDone === ABORT_AT_CHUNK;
        await processChunk(batch.topic, batch.partition, chunk, abort);
        chunksDone++;
        if (abort) {
          // The application "fails" here: this member processes nothing more.
          stopped = true;
          return;
        }
        // The consumer's own position (not committed: autoCommit is off, the transaction carried the offsets).
        resolveOffset(chunk[chunk.length - 1]!.offset);
        await heartbeat();
      }
    };

    const first = await startConsumer(kafka, groupId, input, false, false, eachBatch('first'));
    await waitFor('the aborted transaction', () => stopped || errors.length > 0, 30_000);
    expect(errors).toEqual([]);
    await first.disconnect();
    expect(state.aborted).not.toBeNull();
    const abortedChunk = state.aborted!;
    expect(abortedChunk.values).toHaveLength(CHUNK);
    expect(lastCommitted.get(abortedChunk.partition), 'a committed transaction came before the aborted one in its partition').toBe(abortedChunk.firstOffset);

    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // The group holds the offsets of the last committed transaction per partition, not the aborted one's.
    const afterAbort = await admin.fetchOffsets({ groupId, topics: [input] });
    const offsetsAfterAbort = new Map(afterAbort[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (let p = 0; p < PARTITIONS; p++) {
      expect(offsetsAfterAbort.get(p), `partition ${p} after the abort`).toBe(lastCommitted.get(p) ?? '-1');
    }
    expect(offsetsAfterAbort.get(abortedChunk.partition)).not.toBe(abortedChunk.nextOffset);

    // The restarted application: a new member of the same group resumes from the committed offsets.
    const second = await startConsumer(kafka, groupId, input, false, false, eachBatch('second'));
    await waitFor('every input committed once', () => committedInputs.length >= INPUTS || errors.length > 0, 60_000);
    expect(errors).toEqual([]);
    await second.disconnect();
    expect(committedInputs.length).toBe(INPUTS);
    expect([...committedInputs].sort()).toEqual(Array.from({ length: INPUTS }, (_, i) => inputValue(i)).sort());

    const ends = await admin.fetchTopicOffsets(input);
    const committed = await admin.fetchOffsets({ groupId, topics: [input] });
    expect(new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]))).toEqual(new Map(ends.map((e) => [e.partition, e.high])));
    expect(ends.map((e) => e.high).sort()).toEqual(Array.from({ length: PARTITIONS }, () => String(INPUTS / PARTITIONS)));

    const rc = await readAll(kafka, output, false, INPUTS);
    expect(rc.length, 'read_committed output: each input exactly once').toBe(INPUTS);
    for (let p = 0; p < PARTITIONS; p++) {
      expect(rc.filter((m) => m.partition === p).map((m) => m.value), `output partition ${p} in input order`).toEqual(
        Array.from({ length: INPUTS }, (_, i) => i).filter((i) => i % PARTITIONS === p).map((i) => transform(inputValue(i))),
      );
    }
    const ru = await readAll(kafka, output, true, INPUTS + CHUNK);
    expect(ru.length, 'read_uncommitted output: also the aborted chunk').toBe(INPUTS + CHUNK);
    expect(ru.map((m) => m.value).sort()).toEqual([...rc.map((m) => m.value), ...abortedChunk.values.map(transform)].sort());
  });

  test('a transaction timeout above transaction.max.timeout.ms: the idempotent InitProducerId (null transactional id) is accepted, the transactional one fails with INVALID_TRANSACTION_TIMEOUT', { timeout: 60_000 }, async () => {
    const { kafka } = await setUp();
    await createTopics(kafka, ['txn-timeout']);
    // connect() sends InitProducerId with a null transactional id: Kafka accepts any timeout there.
    const producer = await transactionalProducer(kafka, 'too-long', 1_000_000);
    const error = await rejection(() => producer.transaction());
    expect(errorTypes(error)).toContain('INVALID_TRANSACTION_TIMEOUT');

    // The limit itself is accepted.
    const ok = await transactionalProducer(kafka, 'longest', 900_000);
    const transaction = await ok.transaction();
    await transaction.send({ topic: 'txn-timeout', acks: -1, messages: [{ partition: 0, value: 'v' }] });
    await transaction.commit();
  });
});
