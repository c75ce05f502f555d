// `eddy topic create|list|describe|delete|alter-config|add-partitions`: topic administration over the Kafka
// protocol (CreateTopics, Metadata, ListOffsets, DescribeConfigs, DeleteTopics, IncrementalAlterConfigs,
// CreatePartitions), spelled as kafka-topics.sh and rpk spell them. An API the broker does not offer (per its
// ApiVersions) fails with UNSUPPORTED_VERSION before anything is sent.
import type { Argv, CommandModule } from 'yargs';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type KafkaClient, type TopicResult } from '../../client/client.js';
import { KafkaClientError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  clientOptions,
  formatUuid,
  parseIntFlag,
  parseKeyValues,
  printFields,
  printJson,
  printTable,
  toStringList,
  usageFail,
  withClient,
  type ClientArgs,
} from './shared.js';

/** Throws the first failed result as a KafkaClientError (after the others were printed). */
function throwFirstError(results: TopicResult[]): void {
  const failed = results.find((r) => r.errorCode !== ErrorCode.NONE);
  if (failed !== undefined) throw new KafkaClientError(failed.errorCode, failed.errorMessage);
}

async function createTopic(client: KafkaClient, args: ClientArgs & Record<string, unknown>): Promise<void> {
  const partitions = args.partitions === undefined ? -1 : parseIntFlag(args.partitions, 'partitions', 1);
  const replicationFactor = args['replication-factor'] === undefined ? -1 : parseIntFlag(args['replication-factor'], 'replication-factor', 1);
  const configs = parseKeyValues(args.config, 'config');
  const [result] = await client.createTopics([{ name: String(args.name), numPartitions: partitions, replicationFactor, configs }]);
  if (args.json) printJson({ name: result!.name, error: result!.errorCode === 0 ? null : result!.errorCode, errorMessage: result!.errorMessage });
  throwFirstError([result!]);
  if (!args.json) process.stdout.write(`Created topic ${result!.name}.\n`);
}

async function listTopics(client: KafkaClient, args: ClientArgs): Promise<void> {
  const md = await client.metadata(null);
  const topics = md.topics.filter((t) => t.errorCode === ErrorCode.NONE).sort((a, b) => a.name.localeCompare(b.name));
  const rows = topics.map((t) => ({
    name: t.name,
    topicId: formatUuid(t.topicId),
    partitions: t.partitions.length,
    replicationFactor: t.partitions[0]?.replicas.length ?? 0,
    internal: t.isInternal,
  }));
  if (args.json) return printJson(rows);
  printTable(['NAME', 'PARTITIONS', 'REPLICAS', 'ID'], rows.map((r) => [r.name + (r.internal ? ' (internal)' : ''), r.partitions, r.replicationFactor, r.topicId]));
}

async function describeTopic(client: KafkaClient, args: ClientArgs & Record<string, unknown>): Promise<void> {
  const name = String(args.name);
  const t = await client.topic(name, true);
  const ids = t.partitions.map((p) => p.partition);
  const [earliest, latest, configs] = await Promise.all([
    client.listOffsets(name, ids, EARLIEST_TIMESTAMP),
    client.listOffsets(name, ids, LATEST_TIMESTAMP),
    client.describeTopicConfigs(name),
  ]);
  const partitions = t.partitions.map((p) => ({
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    replicas: p.replicas,
    isr: p.isr,
    logStartOffset: earliest.find((o) => o.partition === p.partition)?.offset ?? null,
    highWatermark: latest.find((o) => o.partition === p.partition)?.offset ?? null,
  }));
  if (args.json) {
    return printJson({
      name,
      topicId: formatUuid(t.topicId),
      internal: t.isInternal,
      partitions,
      configs: configs === undefined ? null : Object.fromEntries(configs.map((c) => [c.name, c.value])),
    });
  }
  printFields([
    ['NAME', name],
    ['ID', formatUuid(t.topicId)],
    ['INTERNAL', String(t.isInternal)],
    ['PARTITIONS', t.partitions.length],
    ['REPLICAS', t.partitions[0]?.replicas.length ?? 0],
  ]);
  if (configs !== undefined) {
    process.stdout.write('\nCONFIGS\n');
    printTable(['KEY', 'VALUE', 'SOURCE'], configs.map((c) => [c.name, c.value, c.isDefault ? 'default' : 'topic']));
  }
  process.stdout.write('\n');
  printTable(
    ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'LOG-START-OFFSET', 'HIGH-WATERMARK'],
    partitions.map((p) => [p.partition, p.leader, p.leaderEpoch, p.replicas.join(','), p.isr.join(','), p.logStartOffset, p.highWatermark]),
  );
}

async function deleteTopics(client: KafkaClient, args: ClientArgs & Record<string, unknown>): Promise<void> {
  const names = toStringList(args.names);
  const results = await client.deleteTopics(names);
  if (args.json) printJson(results.map((r) => ({ name: r.name, error: r.errorCode === 0 ? null : r.errorCode, errorMessage: r.errorMessage })));
  else for (const r of results) if (r.errorCode === ErrorCode.NONE) process.stdout.write(`Deleted topic ${r.name}.\n`);
  throwFirstError(results);
}

async function alterConfig(client: KafkaClient, args: ClientArgs & Record<string, unknown>): Promise<void> {
  const set = parseKeyValues(args.set, 'set');
  const remove = toStringList(args.delete);
  const result = await client.alterTopicConfigs(String(args.name), set, remove);
  if (args.json) printJson({ name: result.name, error: result.errorCode === 0 ? null : result.errorCode, errorMessage: result.errorMessage });
  throwFirstError([result]);
  if (!args.json) process.stdout.write(`Altered the configs of topic ${result.name}.\n`);
}

async function addPartitions(client: KafkaClient, args: ClientArgs & Record<string, unknown>): Promise<void> {
  const add = parseIntFlag(args.num, 'num', 1);
  const name = String(args.name);
  const t = await client.topic(name, true);
  const total = t.partitions.length + add;
  const result = await client.createPartitions(name, total);
  if (args.json) printJson({ name, partitions: total, error: result.errorCode === 0 ? null : result.errorCode, errorMessage: result.errorMessage });
  throwFirstError([result]);
  if (!args.json) process.stdout.write(`Topic ${name} now has ${total} partitions.\n`);
}

type Handler = (client: KafkaClient, args: ClientArgs & Record<string, unknown>) => Promise<void>;

function run(handler: Handler) {
  return (args: Record<string, unknown>) => withClient(args as unknown as ClientArgs, (client) => handler(client, args as ClientArgs & Record<string, unknown>));
}

export const topicCommand: CommandModule = {
  command: 'topic',
  describe: 'Create, list, describe, alter and delete topics',
  builder: (y: Argv) =>
    y
      .command(
        'create <name>',
        'Create a topic',
        (c) =>
          clientOptions(c)
            .positional('name', { type: 'string', describe: 'Topic name' })
            .option('partitions', { alias: 'p', type: 'string', requiresArg: true, describe: 'Number of partitions (default: the broker\'s num.partitions)' })
            .option('replication-factor', { alias: 'r', type: 'string', requiresArg: true, describe: 'Replicas per partition (default: the broker\'s default.replication.factor)' })
            .option('config', { alias: 'c', type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'Topic config key=value (repeatable)' })
            .example('$0 topic create orders --partitions 3', 'Three partitions, broker defaults otherwise')
            .example('$0 topic create events -p 1 --config retention.ms=3600000 --config cleanup.policy=compact', 'With topic configs'),
        run(createTopic),
      )
      .command(
        'list',
        'List topics',
        (c) => clientOptions(c).example('$0 topic list', 'Every topic with its partition count').example('$0 topic list --json', 'As JSON'),
        run(listTopics),
      )
      .command(
        'describe <name>',
        'Show a topic\'s partitions, leaders, offsets and configs',
        (c) => clientOptions(c).positional('name', { type: 'string', describe: 'Topic name' }).example('$0 topic describe orders', 'Partitions with log start offset and high watermark'),
        run(describeTopic),
      )
      .command(
        'delete <names..>',
        'Delete topics',
        (c) => clientOptions(c).positional('names', { type: 'string', array: true, describe: 'Topic names' }).example('$0 topic delete orders events', 'Delete two topics'),
        run(deleteTopics),
      )
      .command(
        'alter-config <name>',
        'Set or delete topic configs (IncrementalAlterConfigs)',
        (c) =>
          clientOptions(c)
            .positional('name', { type: 'string', describe: 'Topic name' })
            .option('set', { alias: 's', type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'Config key=value to set (repeatable)' })
            .option('delete', { alias: 'd', type: 'string', array: true, nargs: 1, requiresArg: true, describe: 'Config key to reset to its default (repeatable)' })
            .check((a) => {
              return toStringList(a.set).length > 0 || toStringList(a.delete).length > 0 ? true : 'Give at least one --set or --delete.';
            })
            .example('$0 topic alter-config orders --set retention.ms=86400000', 'Keep records for a day')
            .example('$0 topic alter-config orders --delete retention.ms', 'Back to the broker default'),
        run(alterConfig),
      )
      .command(
        'add-partitions <name>',
        'Add partitions to a topic (CreatePartitions)',
        (c) =>
          clientOptions(c)
            .positional('name', { type: 'string', describe: 'Topic name' })
            .option('num', { alias: 'n', type: 'string', demandOption: true, requiresArg: true, describe: 'How many partitions to add' })
            .example('$0 topic add-partitions orders --num 2', 'A 3-partition topic gets 5'),
        run(addPartitions),
      )
      .fail(usageFail)
      .demandCommand(1, 'Name a topic command: create, list, describe, delete, alter-config or add-partitions.'),
  handler: () => undefined,
};
