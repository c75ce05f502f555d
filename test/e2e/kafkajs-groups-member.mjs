// A kafkajs consumer-group member in its own process, so a test can crash it (SIGKILL: no LeaveGroup, sockets
// gone) and watch the broker expire it. Usage: node kafkajs-groups-member.mjs <bootstrap> <groupId> <topic>
// <sessionTimeoutMs>. Prints one JSON line per GROUP_JOIN: {"event":"join","generationId":…,"assignment":{…}}.
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, groupId, topic, sessionTimeout] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'crash-member', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: Number(sessionTimeout),
  rebalanceTimeout: 20000,
  heartbeatInterval: 300,
  maxWaitTimeInMs: 200,
});
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  process.stdout.write(`${JSON.stringify({ event: 'join', generationId: e.payload.groupId && e.payload.memberId ? e.payload.memberId : null, assignment: e.payload.memberAssignment })}\n`);
});
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({ eachMessage: async () => {} });
