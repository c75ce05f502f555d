/**
 * OffsetForLeaderEpoch (KIP-320) from a real client's own implementation of the request: @platformatic/kafka's
 * offsetForLeaderEpochV4 (its request encoder, its connection and framing, its reader), against an in-process broker holding records
 * written by kafkajs.
 *
 * Why this client: none of the consumers installed here sends OffsetForLeaderEpoch. librdkafka 2.0.2 (kcat and
 * confluent-kafka-python 1.7.0) predates its KIP-320 offset validation (librdkafka 2.1.0; 2.0.2 exports no
 * rd_kafka_topic_partition_get_leader_epoch and never validates a position), kafka-python 2.0.2 has no such
 * request, kafkajs 2.2.4 only lists the API key, and there is no Java client on this machine. @platformatic/kafka
 * encodes the request (v4) but its consumer does not call it yet, so the request is sent through its low-level API
 * (and its response decoder has the fields out of order, see parseResponse below).
 * A single broker never changes its leader epoch (0), so what a consumer would see after a truncation is asserted
 * on the answers: the end offset of epoch 0 is the log end offset, a newer current epoch is UNKNOWN_LEADER_EPOCH
 * (the client retries after a metadata refresh), an older one FENCED_LEADER_EPOCH.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Connection, offsetForLeaderEpochV4, type Reader } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let connection: Connection | undefined;

beforeEach(async () => {
  tb = await startTestBroker();
});

afterEach(async () => {
  await connection?.close();
  connection = undefined;
  await tb.stop();
});

interface EpochAnswer {
  partition: number;
  errorCode: number;
  leaderEpoch: number;
  endOffset: bigint;
}

type Topics = Array<{ name: string; partitions: Array<{ partitionIndex: number; currentLeaderEpoch: number; leaderEpoch: number }> }>;

/**
 * The v4 response as the schema lays it out (EpochEndOffset: ErrorCode, Partition, LeaderEpoch, EndOffset), read with
 * @platformatic/kafka's Reader. Its own offsetForLeaderEpochV4.parseResponse (1.35.0) reads Partition before
 * ErrorCode, which misreads every answer but an all-zero one (partition 1 comes back as partition 0 with error 1):
 * a client bug, so only its encoder, connection and reader are used.
 */
function parseResponse(_correlationId: number, _apiKey: number, _apiVersion: number, reader: Reader): { topics: Array<{ topic: string; partitions: EpochAnswer[] }> } {
  reader.readInt32(); // throttle_time_ms
  return {
    topics: reader.readArray((r: Reader) => ({
      topic: r.readString(),
      partitions: r.readArray((p: Reader) => ({ errorCode: p.readInt16(), partition: p.readInt32(), leaderEpoch: p.readInt32(), endOffset: p.readInt64() })),
    })),
  };
}

/** One OffsetForLeaderEpoch v4 built by @platformatic/kafka's offsetForLeaderEpochV4.createRequest, over its Connection. */
function endOffsets(topics: Topics): Promise<Array<{ topic: string; partitions: EpochAnswer[] }>> {
  return new Promise((resolve, reject) => {
    const send = connection!.send.bind(connection!) as unknown as (...args: unknown[]) => void;
    send(offsetForLeaderEpochV4.api.key, offsetForLeaderEpochV4.api.version, () => offsetForLeaderEpochV4.createRequest(-1, topics as never), parseResponse, true, true, (err: Error | null, res: { topics: Array<{ topic: string; partitions: EpochAnswer[] }> }) => (err ? reject(err) : resolve(res.topics)));
  });
}

describe('OffsetForLeaderEpoch v4 from @platformatic/kafka', () => {
  it('answers the end offset of the current epoch, the fencing errors, and unknown partitions as Kafka does', async () => {
    const kafka = new Kafka({ clientId: 'ofle-producer', brokers: [`127.0.0.1:${tb.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ofle', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'ofle', messages: Array.from({ length: 50 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();

    connection = new Connection('ofle-client');
    await connection.connect('127.0.0.1', tb.port);

    const [answer] = await endOffsets([
      {
        name: 'ofle',
        partitions: [
          { partitionIndex: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
          { partitionIndex: 1, currentLeaderEpoch: 0, leaderEpoch: 0 },
          { partitionIndex: 0, currentLeaderEpoch: -1, leaderEpoch: 7 },
          { partitionIndex: 0, currentLeaderEpoch: 1, leaderEpoch: 0 },
          { partitionIndex: 0, currentLeaderEpoch: -2, leaderEpoch: 0 },
          { partitionIndex: 5, currentLeaderEpoch: 0, leaderEpoch: 0 },
        ],
      },
    ]);
    expect(answer!.topic).toBe('ofle');
    expect(answer!.partitions).toEqual([
      // Epoch 0 is the current one: its end is the log end offset (a consumer at 50 or below has not been truncated).
      { partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: 0, endOffset: 50n },
      // Nothing written: epoch 0 starts at 0 (Kafka's makeLeader assigns the epoch's start offset on an empty log too).
      { partition: 1, errorCode: ErrorCode.NONE, leaderEpoch: 0, endOffset: 0n },
      // An epoch above every cached one: undefined too.
      { partition: 0, errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1n },
      { partition: 0, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n },
      { partition: 0, errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1n },
      { partition: 5, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1n },
    ]);

    const [unknown] = await endOffsets([{ name: 'no-such-topic', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }]);
    expect(unknown!.partitions).toEqual([{ partition: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1n }]);
  });
});
