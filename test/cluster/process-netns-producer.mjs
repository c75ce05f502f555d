// A producer that talks to one broker only, started inside a network namespace (test/helpers/netns.ts) by
// process-network-partition.test.ts to write to a leader cut off from everyone else. Plain JavaScript on the
// compiled client (dist/), so `ip netns exec <ns> node <this file>` runs it with no TypeScript loader.
//
//   node process-netns-producer.mjs <host> <port> <topic> <maxMs>
//
// - Opens two connections to <host>:<port> and prints {"ready":true}; then waits for a line "go" on stdin.
// - Then, until stdin ends (or <maxMs> after "go"), two loops, each one Produce at a time on its own connection
//   (a connection is served in order, so an acks=all write waiting for its ISR must not hold the acks=1 ones):
//   acks=1 values `zombie-acks1-<i>` and acks=all values `zombie-acksall-<i>`, to partition 0, no retries, never
//   following metadata elsewhere. Each outcome is one JSON line:
//   {"acks":1|-1,"value":…,"sentAtMs":…,"atMs":…,"errorCode":…,"baseOffset":"…"} or {…,"failure":"message"}.
// - A connection that fails is opened again before the next write of its loop. Prints {"done":true} and exits 0.
import { createInterface } from 'node:readline';
import { Connection } from '../../dist/client/connection.js';
import { buildRecordBatch } from '../../dist/client/records.js';
import { ApiKey } from '../../dist/protocol/generated/index.js';

const [host, portText, topic, maxMsText] = process.argv.slice(2);
const port = Number(portText);
const maxMs = Number(maxMsText);
const PRODUCE_TIMEOUT_MS = { 1: 2000, [-1]: 3000 };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const print = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const connect = () => Connection.connect({ host, port, clientId: 'netns-producer', connectTimeoutMs: 2000, requestTimeoutMs: 5000 });

let stopped = false;
let go;
const started = new Promise((resolve) => (go = resolve));
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'go') go();
});
lines.on('close', () => {
  stopped = true;
  go();
});

async function loop(acks, connection) {
  let conn = connection;
  for (let i = 0; !stopped; i++) {
    const value = `zombie-${acks === 1 ? 'acks1' : 'acksall'}-${i}`;
    const sentAtMs = Date.now();
    try {
      if (conn === undefined || !conn.isOpen) conn = await connect();
      const timeoutMs = PRODUCE_TIMEOUT_MS[acks];
      // v3..v12 name the topic (v13 wants its id, which would need a Metadata round trip).
      const version = conn.versionFor(ApiKey.Produce, 3, 12);
      const res = await conn.send(ApiKey.Produce, version, {
        transactionalId: null,
        acks,
        timeoutMs,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch([{ key: null, value: Buffer.from(value) }]) }] }],
      }, timeoutMs);
      const p = res.responses[0].partitionResponses[0];
      print({ acks, value, sentAtMs, atMs: Date.now(), errorCode: p.errorCode, baseOffset: String(p.baseOffset) });
    } catch (err) {
      print({ acks, value, sentAtMs, atMs: Date.now(), failure: err.message });
      await sleep(200);
    }
    await sleep(50);
  }
  conn?.close();
}

const [acks1Conn, acksAllConn] = await Promise.all([connect(), connect()]);
print({ ready: true });
await started;
const deadline = setTimeout(() => {
  stopped = true;
}, maxMs);
await Promise.all([loop(1, acks1Conn), loop(-1, acksAllConn)]);
clearTimeout(deadline);
print({ done: true });
process.exit(0);
