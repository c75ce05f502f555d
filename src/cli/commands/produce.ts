// `eddy produce TOPIC`: one record per stdin line (or one record from --value), as kafka-console-producer.sh and
// `rpk topic produce` do.
//
// - --key-separator SEP splits each line at the first SEP into key and value (a line without SEP is a keyless
//   record); --header k=v (repeatable) is added to every record.
// - Partition: --partition P, else the key's partition under Kafka's default partitioner (murmur2, so the same
//   key lands where the Java client would put it), else keyless records go to one partition per batch, rotating
//   (the spirit of KIP-480's sticky partitioner).
// - Records are sent in batches of at most BATCH_RECORDS records / BATCH_BYTES bytes per partition, one request at
//   a time so the order of lines is kept within each partition; a batch that does not fill goes out LINGER_MS
//   after its first line. --acks and --compression are the producer's.
// - Idempotence (--idempotent), as the Java producer since Kafka 3.0: on by default when --acks is -1 and the broker
//   gives out producer ids (InitProducerId), off otherwise; asked for with acks 0/1 it is a usage error (Java's
//   ConfigException: idempotence needs acks=all). Each partition's batches carry the producer id, epoch and the
//   next sequence, so a send retried after a retriable error is written once.
import type readline from 'node:readline';
import { lazyBuiltin } from '../../lazy-builtin.js';
import type { Argv, CommandModule } from 'yargs';
import type { KafkaClient } from '../../client/client.js';
import { partitionForKey } from '../../client/partitioner.js';
import { buildRecordBatch, type Compression, type ProducerIdentity, type ProducerRecord, type RecordHeader } from '../../client/records.js';
import { clientOptions, parseIntFlag, parseKeyValues, printJson, progress, usageFail, withClient, UsageError, type ClientArgs } from './shared.js';

const BATCH_RECORDS = 1000;
const BATCH_BYTES = 512 * 1024;
const LINGER_MS = 50;

interface ProduceArgs extends ClientArgs {
  topic: string;
  'key-separator'?: string;
  value?: string;
  header?: string[];
  partition?: string;
  acks: string;
  compression: Compression;
  idempotent?: boolean;
}

interface PartitionSummary {
  partition: number;
  records: number;
  firstOffset: bigint;
  lastOffset: bigint;
}

async function produce(client: KafkaClient, args: ProduceArgs): Promise<void> {
  const acks = parseIntFlag(args.acks, 'acks');
  if (acks !== -1 && acks !== 0 && acks !== 1) throw new UsageError(`--acks ${args.acks}: expected -1, 0 or 1`);
  const fixedPartition = args.partition === undefined ? undefined : parseIntFlag(args.partition, 'partition', 0);
  const headers: RecordHeader[] = Object.entries(parseKeyValues(args.header, 'header')).map(([key, value]) => ({ key, value: Buffer.from(value) }));
  const separator = args['key-separator'];
  if (separator === '') throw new UsageError('--key-separator "": expected a non-empty separator');
  if (args.idempotent === true && acks !== -1) {
    throw new UsageError(`--idempotent needs --acks -1 (all), got --acks ${args.acks}: without it a retried send can be written twice`);
  }
  const topic = await client.topic(args.topic, true);
  const numPartitions = topic.partitions.length;
  if (fixedPartition !== undefined && fixedPartition >= numPartitions) {
    throw new UsageError(`--partition ${fixedPartition}: topic ${args.topic} has partitions 0-${numPartitions - 1}`);
  }

  const idempotent = args.idempotent ?? (acks === -1 && (await client.supportsIdempotence()));
  const producer = idempotent ? await client.initProducerId() : undefined;
  /** The sequence of the next record per partition (idempotent producer). */
  const nextSequence = new Map<number, number>();

  const pending = new Map<number, { records: ProducerRecord[]; bytes: number }>();
  const summary = new Map<number, PartitionSummary>();
  let keylessPartition = Math.floor(Math.random() * numPartitions);
  let produced = 0;
  let read = 0;
  const bar = progress(() => `read ${read} lines, produced ${produced} records to ${args.topic}`);

  const flush = async (partition: number): Promise<void> => {
    const batch = pending.get(partition);
    if (batch === undefined || batch.records.length === 0) return;
    pending.delete(partition);
    const n = batch.records.length;
    let identity: ProducerIdentity | undefined;
    if (producer !== undefined) {
      const baseSequence = nextSequence.get(partition) ?? 0;
      identity = { ...producer, baseSequence };
      // Sequences wrap at 2^31 as Kafka's DefaultRecordBatch.incrementSequence.
      nextSequence.set(partition, (baseSequence + n) % 2 ** 31);
    }
    const result = await client.produce(args.topic, partition, buildRecordBatch(batch.records, args.compression, identity), acks);
    produced += n;
    const s = summary.get(partition) ?? { partition, records: 0, firstOffset: result.baseOffset, lastOffset: -1n };
    s.records += n;
    s.lastOffset = result.baseOffset < 0n ? -1n : result.baseOffset + BigInt(n - 1);
    summary.set(partition, s);
  };

  // Sends run one at a time, in order (so each partition keeps the order of the lines); the first failure stops
  // the run. A batch goes out when full, or LINGER_MS after its first line (an interactive producer, typing lines,
  // sees each record sent as it is typed, as with kafka-console-producer.sh's linger).
  let sending: Promise<void> = Promise.resolve();
  let failure: unknown;
  let lingerTimer: NodeJS.Timeout | undefined;
  const enqueue = (partition: number): Promise<void> => {
    sending = sending.then(() => (failure === undefined ? flush(partition) : undefined)).catch((err: unknown) => {
      failure ??= err;
    });
    return sending;
  };
  const flushAll = (): Promise<void> => {
    if (lingerTimer !== undefined) clearTimeout(lingerTimer);
    lingerTimer = undefined;
    for (const partition of [...pending.keys()]) void enqueue(partition);
    // Keyless records stick to one partition per linger window, then move on (KIP-480's sticky partitioner).
    if (fixedPartition === undefined) keylessPartition = (keylessPartition + 1) % numPartitions;
    return sending;
  };

  const add = async (line: string): Promise<void> => {
    if (failure !== undefined) throw failure;
    read++;
    let key: Buffer | null = null;
    let value = line;
    if (separator !== undefined) {
      const at = line.indexOf(separator);
      if (at >= 0) {
        key = Buffer.from(line.slice(0, at));
        value = line.slice(at + separator.length);
      }
    }
    let partition: number;
    if (fixedPartition !== undefined) partition = fixedPartition;
    else if (key !== null) partition = partitionForKey(key, numPartitions);
    else partition = keylessPartition;
    const record: ProducerRecord = { key, value: Buffer.from(value), headers };
    const batch = pending.get(partition) ?? { records: [], bytes: 0 };
    batch.records.push(record);
    batch.bytes += (key?.length ?? 0) + record.value!.length + 16;
    pending.set(partition, batch);
    lingerTimer ??= setTimeout(() => void flushAll(), LINGER_MS);
    if (batch.records.length >= BATCH_RECORDS || batch.bytes >= BATCH_BYTES) {
      await enqueue(partition);
      if (failure !== undefined) throw failure;
      if (key === null && fixedPartition === undefined) keylessPartition = (keylessPartition + 1) % numPartitions;
    }
  };

  let lines: ReturnType<typeof readline.createInterface> | undefined;
  try {
    if (args.value !== undefined) {
      await add(args.value);
    } else {
      lines = lazyBuiltin<typeof readline>('node:readline').createInterface({ input: process.stdin, crlfDelay: Infinity });
      for await (const line of lines) await add(line);
    }
    await flushAll();
    if (failure !== undefined) throw failure;
  } finally {
    if (lingerTimer !== undefined) clearTimeout(lingerTimer);
    bar.done();
    if (lines !== undefined) {
      // A failure mid-stream must not leave the process waiting on stdin.
      lines.close();
      process.stdin.destroy();
    }
  }

  const partitions = [...summary.values()].sort((a, b) => a.partition - b.partition);
  if (args.json) {
    printJson({ topic: args.topic, records: produced, partitions, ...(producer !== undefined ? { producerId: producer.producerId, producerEpoch: producer.producerEpoch } : {}) });
    return;
  }
  const where = partitions
    .map((p) => (p.lastOffset < 0n ? `partition ${p.partition}` : `partition ${p.partition} offsets ${p.firstOffset}-${p.lastOffset}`))
    .join(', ');
  process.stdout.write(`Produced ${produced} record${produced === 1 ? '' : 's'} to ${args.topic}${where ? ` (${where})` : ''}.\n`);
}

export const produceCommand: CommandModule = {
  command: 'produce <topic>',
  describe: 'Produce records: one per stdin line, or one from --value',
  builder: (y: Argv) =>
    clientOptions(y)
      .positional('topic', { type: 'string', describe: 'Topic to produce to' })
      .option('key-separator', { alias: 'k', type: 'string', requiresArg: true, describe: 'Split each line at the first SEP into key and value' })
      .option('value', { alias: 'v', type: 'string', requiresArg: true, describe: 'Produce this one value instead of reading stdin' })
      .option('header', { alias: 'H', type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'Record header k=v, added to every record (repeatable)' })
      .option('partition', { alias: 'p', type: 'string', requiresArg: true, describe: 'Produce to this partition (default: by key, else rotating)' })
      .option('acks', { alias: 'a', type: 'string', default: '-1', requiresArg: true, describe: 'Acknowledgements: -1 (all), 1 (leader) or 0 (none)' })
      .option('idempotent', { type: 'boolean', describe: 'Idempotent producer (default: on with --acks -1 when the broker supports it)' })
      .option('compression', { alias: 'z', choices: ['none', 'gzip'] as const, default: 'none' as const, requiresArg: true, describe: 'Batch compression' })
      .fail(usageFail)
      .example('echo hello | $0 produce orders', 'One keyless record')
      .example("printf 'k1:v1\\nk2:v2\\n' | $0 produce orders --key-separator :", 'Keyed records, one per line')
      .example('$0 produce orders --value hi --header source=cli --partition 0 --acks 1', 'One record with a header')
      .example('$0 produce orders --no-idempotent < lines.txt', 'A plain (non-idempotent) producer with acks=-1'),
  handler: (args) => withClient(args as unknown as ClientArgs, (client) => produce(client, args as unknown as ProduceArgs)),
};
