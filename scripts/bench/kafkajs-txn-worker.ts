// The transactional produce figure for `npm run bench` (issue 9): kafkajs sending COUNT values of SIZE bytes to
// partition 0 of TOPIC, PER_TXN messages per send, one send at a time (a transactional kafkajs producer allows one
// request in flight), bounded by MAX_SECONDS. MODE:
//
//   txn         each send is its own transaction: transaction(), send (AddPartitionsToTxn + Produce), commit()
//               (EndTxn; the coordinator writes the COMMIT marker). transactionalId `eddy-bench-txn-<TOPIC>`.
//   idempotent  the same sends from an idempotent producer without a transaction, so the difference between the
//               two rows is the cost of the transactions themselves (same client, same request pattern).
//
// Prints one JSON line {"count":…,"seconds":…,"commits":…} (seconds from the first send to the last commit or
// acknowledgement; connection, InitProducerId and a one-message warm-up excluded).
//
//   kafkajs-txn-worker.ts BOOTSTRAP TOPIC COUNT SIZE PER_TXN MODE MAX_SECONDS
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, topic, countText, sizeText, perTxnText, mode, maxSecondsText] = process.argv.slice(2);
if (mode !== 'txn' && mode !== 'idempotent') throw new Error(`MODE must be txn or idempotent, not ${mode}`);
const count = Number(countText);
const size = Number(sizeText);
const perTxn = Number(perTxnText);
const deadline = Date.now() + Number(maxSecondsText) * 1000;

// The first retry after 20 ms instead of kafkajs's 300 ms: right after a commit the coordinator is still writing
// the markers, so the next transaction's AddPartitionsToTxn gets CONCURRENT_TRANSACTIONS (as from Kafka, whose
// EndTxn answers once PrepareCommit is written). The Java producer retries that after 20 ms
// (TransactionManager.ADD_PARTITIONS_RETRY_BACKOFF_MS); with kafkajs's default each commit would cost ~300 ms of
// client backoff and the figure would measure kafkajs's retry policy, not the broker.
const kafka = new Kafka({
  clientId: 'eddy-bench-kafkajs-txn',
  brokers: [bootstrap!],
  logLevel: logLevel.NOTHING,
  retry: { initialRetryTime: 20, maxRetryTime: 1000, retries: 10 },
});
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  ...(mode === 'txn' ? { transactionalId: `eddy-bench-txn-${topic}` } : {}),
});
await producer.connect();
const value = Buffer.alloc(size, 0x74);
const messages = Array.from({ length: perTxn }, () => ({ value, partition: 0 }));

const sendOnce = async (msgs: typeof messages): Promise<void> => {
  if (mode === 'txn') {
    const txn = await producer.transaction();
    try {
      await txn.send({ topic: topic!, acks: -1, messages: msgs });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => undefined);
      throw err;
    }
  } else {
    await producer.send({ topic: topic!, acks: -1, messages: msgs });
  }
};

// Warm-up (its message and commit are not counted, the caller adds them to the expected end offset).
await sendOnce(messages.slice(0, 1));

let acked = 0;
let commits = 0;
const started = process.hrtime.bigint();
while (acked < count && Date.now() < deadline) {
  const n = Math.min(perTxn, count - acked);
  await sendOnce(n === perTxn ? messages : messages.slice(0, n));
  acked += n;
  commits++;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await producer.disconnect();
process.stdout.write(`${JSON.stringify({ count: acked, seconds, commits: mode === 'txn' ? commits : 0 })}\n`);
