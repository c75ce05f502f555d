// `eddy consume TOPIC`: read records and print them with a kcat-like --format template or as JSON lines.
//
// Where each partition starts (the first row that applies):
//
//   flag                  start offset
//   --offset N            N
//   --from-timestamp MS   ListOffsets(MS): the first offset whose timestamp is >= MS (the log end when none is)
//   --from-beginning      ListOffsets(EARLIEST): the log start offset
//   --group G             G's committed offset for the partition, when it has one
//   (otherwise)           ListOffsets(LATEST): the log end offset, as kafka-console-consumer.sh starts
//
// When it stops: after --count records; without --follow, also once every partition reached the end offset it
// had when the command started (so `eddy consume t --from-beginning` prints what is there and exits); with
// --follow it waits for new records until --count or Ctrl-C.
//
// --group G does not join the group (no JoinGroup/SyncGroup, so nothing is rebalanced): it starts from G's
// committed offsets and, when it stops (and every 5 s with --follow), commits the position after the last record
// it printed, outside any generation, as a consumer with manual assignment does. A group with active members
// refuses such commits (the error is printed).
//
// --format: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp (ms), %h headers (k=v,k=v), %%;
// escapes \n \t \r \\. The default is '%v\n' (values only, as kafka-console-consumer.sh prints). --json prints
// one JSON object per record per line (key, value and header values as UTF-8 strings, null when null).
import type { Argv, CommandModule } from 'yargs';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type KafkaClient } from '../../client/client.js';
import { decodeRecordBatches, type ConsumedRecord } from '../../client/records.js';
import { clientOptions, parseBigIntFlag, parseIntFlag, progress, toJson, usageFail, withClient, UsageError, type ClientArgs } from './shared.js';

interface ConsumeArgs extends ClientArgs {
  topic: string;
  'from-beginning': boolean;
  offset?: string;
  'from-timestamp'?: string;
  partition?: string;
  group?: string;
  count?: string;
  follow: boolean;
  format: string;
}

const COMMIT_INTERVAL_MS = 5_000;

/** Turns a --format template into a function of one record. */
export function compileFormat(template: string): (topic: string, partition: number, r: ConsumedRecord) => string {
  const parts: Array<string | ((topic: string, partition: number, r: ConsumedRecord) => string)> = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    const n = template[i + 1];
    if (c === '\\' && n !== undefined) {
      const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };
      if (esc[n] !== undefined) {
        literal += esc[n];
        i++;
        continue;
      }
    }
    if (c === '%' && n !== undefined) {
      const field: Record<string, (topic: string, partition: number, r: ConsumedRecord) => string> = {
        t: (topic) => topic,
        p: (_t, partition) => String(partition),
        o: (_t, _p, r) => r.offset.toString(),
        k: (_t, _p, r) => r.key?.toString('utf8') ?? '',
        v: (_t, _p, r) => r.value?.toString('utf8') ?? '',
        T: (_t, _p, r) => r.timestamp.toString(),
        h: (_t, _p, r) => r.headers.map((h) => `${h.key}=${h.value?.toString('utf8') ?? ''}`).join(','),
      };
      if (n === '%') {
        literal += '%';
        i++;
        continue;
      }
      const f = field[n];
      if (f === undefined) throw new UsageError(`--format "${template}": unknown field %${n} (use %t %p %o %k %v %T %h)`);
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(f);
      i++;
      continue;
    }
    literal += c;
  }
  if (literal !== '') parts.push(literal);
  return (topic, partition, r) => parts.map((p) => (typeof p === 'string' ? p : p(topic, partition, r))).join('');
}

function recordJson(topic: string, partition: number, r: ConsumedRecord): string {
  return toJson(
    {
      topic,
      partition,
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key?.toString('utf8') ?? null,
      value: r.value?.toString('utf8') ?? null,
      headers: r.headers.map((h) => ({ key: h.key, value: h.value?.toString('utf8') ?? null })),
    },
    0,
  );
}

async function consume(client: KafkaClient, args: ConsumeArgs): Promise<void> {
  const starts = [args['from-beginning'], args.offset !== undefined, args['from-timestamp'] !== undefined].filter(Boolean).length;
  if (starts > 1) throw new UsageError('give only one of --from-beginning, --offset and --from-timestamp');
  const count = args.count === undefined ? Infinity : parseIntFlag(args.count, 'count', 1);
  const fixedOffset = args.offset === undefined ? undefined : parseBigIntFlag(args.offset, 'offset', 0n);
  const fromTimestamp = args['from-timestamp'] === undefined ? undefined : parseBigIntFlag(args['from-timestamp'], 'from-timestamp', 0n);
  const format = args.json ? undefined : compileFormat(args.format);
  const onlyPartition = args.partition === undefined ? undefined : parseIntFlag(args.partition, 'partition', 0);

  const topic = await client.topic(args.topic, true);
  let partitions = topic.partitions.map((p) => p.partition);
  if (onlyPartition !== undefined) {
    if (!partitions.includes(onlyPartition)) throw new UsageError(`--partition ${onlyPartition}: topic ${args.topic} has partitions 0-${partitions.length - 1}`);
    partitions = [onlyPartition];
  }

  const ends = new Map((await client.listOffsets(args.topic, partitions, LATEST_TIMESTAMP)).map((o) => [o.partition, o.offset]));
  const position = new Map<number, bigint>();
  if (fixedOffset !== undefined) for (const p of partitions) position.set(p, fixedOffset);
  else if (fromTimestamp !== undefined) for (const o of await client.listOffsets(args.topic, partitions, fromTimestamp)) position.set(o.partition, o.offset < 0n ? ends.get(o.partition)! : o.offset);
  else if (args['from-beginning']) for (const o of await client.listOffsets(args.topic, partitions, EARLIEST_TIMESTAMP)) position.set(o.partition, o.offset);
  if (args.group !== undefined && starts === 0) {
    const committed = await client.committedOffsets(args.group, [{ topic: args.topic, partitions }]);
    for (const c of committed) position.set(c.partition, c.offset);
  }
  for (const p of partitions) if (!position.has(p)) position.set(p, ends.get(p)!);

  let printed = 0;
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let outputClosed = false;
  const onOutputError = () => {
    outputClosed = true;
    stopping = true;
  };
  process.stdout.on('error', onOutputError);
  const bar = progress(() => `consumed ${printed} records from ${args.topic}`);
  const consumed = new Map<number, bigint>();
  let lastCommit = Date.now();

  const commit = async () => {
    if (args.group === undefined || consumed.size === 0) return;
    await client.commitOffsets(args.group, [...consumed].map(([partition, offset]) => ({ topic: args.topic, partition, offset })));
    lastCommit = Date.now();
  };

  try {
    const done = (p: number) => !args.follow && position.get(p)! >= ends.get(p)!;
    while (!stopping && printed < count) {
      const active = partitions.filter((p) => !done(p));
      if (active.length === 0) break;
      // Long-poll only when one partition is read; with several, short waits keep them all moving.
      const maxWaitMs = active.length === 1 ? 500 : 100;
      for (const p of active) {
        if (stopping || printed >= count) break;
        const data = await client.fetch(args.topic, p, position.get(p)!, { maxWaitMs });
        const { records, nextOffset } = decodeRecordBatches(data.records);
        const end = args.follow ? undefined : ends.get(p)!;
        let out = '';
        let stoppedEarly = false;
        for (const r of records) {
          if (r.offset < position.get(p)!) continue;
          if (end !== undefined && r.offset >= end) {
            position.set(p, end);
            stoppedEarly = true;
            break;
          }
          if (printed >= count) {
            stoppedEarly = true;
            break;
          }
          out += format === undefined ? `${recordJson(args.topic, p, r)}\n` : format(args.topic, p, r);
          printed++;
          position.set(p, r.offset + 1n);
          consumed.set(p, r.offset + 1n);
        }
        if (out !== '' && !outputClosed) process.stdout.write(out);
        // Move past offsets with no record to print (control batches, offsets removed by compaction).
        if (!stoppedEarly && nextOffset !== undefined && nextOffset > position.get(p)!) {
          position.set(p, end !== undefined && nextOffset > end ? end : nextOffset);
        }
      }
      if (args.group !== undefined && args.follow && Date.now() - lastCommit >= COMMIT_INTERVAL_MS) await commit();
    }
    await commit();
  } finally {
    bar.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.off('error', onOutputError);
  }
}

export const consumeCommand: CommandModule = {
  command: 'consume <topic>',
  describe: 'Consume records and print them (kcat-like --format, or --json)',
  builder: (y: Argv) =>
    clientOptions(y)
      .positional('topic', { type: 'string', describe: 'Topic to consume' })
      .option('from-beginning', { type: 'boolean', default: false, describe: 'Start at the log start offset' })
      .option('offset', { alias: 'o', type: 'string', requiresArg: true, describe: 'Start at this offset' })
      .option('from-timestamp', { type: 'string', requiresArg: true, describe: 'Start at the first record with timestamp >= MS (ms since the epoch)' })
      .option('partition', { alias: 'p', type: 'string', requiresArg: true, describe: 'Consume only this partition' })
      .option('group', { alias: 'g', type: 'string', requiresArg: true, describe: 'Start from this group\'s committed offsets and commit what was printed' })
      .option('count', { alias: 'n', type: 'string', requiresArg: true, describe: 'Stop after N records' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Wait for new records at the end of the log (until --count or Ctrl-C)' })
      .option('format', { type: 'string', default: '%v\\n', requiresArg: true, describe: 'Template: %t topic %p partition %o offset %k key %v value %T timestamp %h headers' })
      .fail(usageFail)
      .example('$0 consume orders --from-beginning', 'Print every value, then exit')
      .example("$0 consume orders --from-beginning --format '%p/%o %k=%v %h\\n'", 'Partition, offset, key, value and headers')
      .example('$0 consume orders --follow --group billing', 'Resume from the group\'s offsets and keep waiting')
      .example('$0 consume orders --from-timestamp 1700000000000 --count 10 --json', 'Ten records from a point in time, as JSON'),
  handler: (args) => withClient(args as unknown as ClientArgs, (client) => consume(client, args as unknown as ConsumeArgs)),
};
