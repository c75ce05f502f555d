// The JS-side produce figure for `npm run bench`: kafkajs sending COUNT values of SIZE bytes to TOPIC in
// batches of 1,000 messages with up to 8 sends in flight, bounded by MAX_SECONDS. Prints one JSON line
// {"count":…,"seconds":…} (seconds from the first send to the last acknowledgement, connection excluded).
//
//   kafkajs-worker.ts BOOTSTRAP TOPIC COUNT SIZE ACKS MAX_SECONDS
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, topic, countText, sizeText, acksText, maxSecondsText] = process.argv.slice(2);
const count = Number(countText);
const size = Number(sizeText);
const acks = Number(acksText);
const deadline = Date.now() + Number(maxSecondsText) * 1000;
const BATCH = 1000;
const IN_FLIGHT = 8;

const kafka = new Kafka({ clientId: 'eddy-bench-kafkajs', brokers: [bootstrap!], logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: true });
await producer.connect();
const value = Buffer.alloc(size, 0x62);
const messages = Array.from({ length: BATCH }, () => ({ value }));

// One warm-up send so topic metadata and the connection are ready before the clock starts.
await producer.send({ topic: topic!, acks, messages: [{ value }] });

let sent = 0;
let acked = 0;
const started = process.hrtime.bigint();
await new Promise<void>((resolve, reject) => {
  let inFlight = 0;
  const next = (): void => {
    while (inFlight < IN_FLIGHT && sent < count && Date.now() < deadline) {
      const n = Math.min(BATCH, count - sent);
      sent += n;
      inFlight++;
      producer
        .send({ topic: topic!, acks, messages: n === BATCH ? messages : messages.slice(0, n) })
        .then(() => {
          inFlight--;
          acked += n;
          if (inFlight === 0 && (sent >= count || Date.now() >= deadline)) resolve();
          else next();
        }, reject);
    }
  };
  next();
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await producer.disconnect();
process.stdout.write(`${JSON.stringify({ count: acked, seconds })}\n`);
