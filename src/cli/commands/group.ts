// `eddy group list|describe|reset-offsets|delete`: consumer groups as kafka-consumer-groups.sh shows them.
//
// - describe: DescribeGroups (state, protocol, members; a "consumer" group's member assignments are decoded from
//   the consumer protocol's bytes), OffsetFetch for every committed partition, ListOffsets(LATEST) for the log end
//   offset; lag = log end offset − committed offset ('-' without a commit). A Dead group with no committed
//   offsets does not exist: GROUP_ID_NOT_FOUND.
// - reset-offsets: computes the new offset of every partition of --topic (or one --partition) and prints the
//   plan; only --execute commits it (kafka-consumer-groups.sh's dry-run default). Like Kafka's tool it refuses a
//   group with active members: only an Empty (or unknown, Dead) group can be reset.
// - delete: DeleteGroups; a group with members fails with NON_EMPTY_GROUP.
import type { Argv, CommandModule } from 'yargs';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type KafkaClient } from '../../client/client.js';
import { decodeConsumerAssignment, type TopicPartitions } from '../../client/consumer-protocol.js';
import { KafkaClientError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { clientOptions, parseBigIntFlag, parseIntFlag, printFields, printJson, printTable, toStringList, usageFail, withClient, UsageError, type ClientArgs } from './shared.js';

type Args = ClientArgs & Record<string, unknown>;

async function listGroups(client: KafkaClient, args: Args): Promise<void> {
  const groups = await client.listGroups();
  // ListGroups before v4 has no state: ask DescribeGroups.
  for (const g of groups) if (g.state === null) g.state = (await client.describeGroup(g.groupId)).groupState;
  if (args.json) return printJson(groups.map((g) => ({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, coordinator: g.broker })));
  printTable(['GROUP', 'STATE', 'PROTOCOL-TYPE', 'COORDINATOR'], groups.map((g) => [g.groupId, g.state, g.protocolType || '-', g.broker]));
}

async function endOffsets(client: KafkaClient, tps: Array<{ topic: string; partition: number }>): Promise<Map<string, bigint>> {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) byTopic.set(tp.topic, [...new Set([...(byTopic.get(tp.topic) ?? []), tp.partition])]);
  const out = new Map<string, bigint>();
  for (const [topic, partitions] of byTopic) {
    try {
      const info = await client.topic(topic);
      const existing = partitions.filter((p) => info.partitions.some((x) => x.partition === p));
      for (const o of await client.listOffsets(topic, existing, LATEST_TIMESTAMP)) out.set(`${topic}\0${o.partition}`, o.offset);
    } catch (err) {
      // A committed offset may outlive its topic; its end offset is then unknown.
      if (!(err instanceof KafkaClientError) || err.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw err;
    }
  }
  return out;
}

async function describeGroup(client: KafkaClient, args: Args): Promise<void> {
  const groupId = String(args.group);
  const g = await client.describeGroup(groupId);
  const committed = await client.committedOffsets(groupId, null);
  if ((g.groupState === 'Dead' || g.groupState === '') && committed.length === 0) {
    throw new KafkaClientError(ErrorCode.GROUP_ID_NOT_FOUND, `The group id does not exist. (${groupId})`);
  }
  const members = g.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId ?? null,
    clientId: m.clientId,
    clientHost: m.clientHost,
    assignment: g.protocolType === 'consumer' ? decodeConsumerAssignment(m.memberAssignment) ?? null : null,
  }));
  const owner = new Map<string, (typeof members)[number]>();
  const tps = new Map<string, { topic: string; partition: number }>();
  for (const m of members) for (const a of m.assignment ?? []) for (const p of a.partitions) {
    owner.set(`${a.topic}\0${p}`, m);
    tps.set(`${a.topic}\0${p}`, { topic: a.topic, partition: p });
  }
  for (const c of committed) tps.set(`${c.topic}\0${c.partition}`, { topic: c.topic, partition: c.partition });
  const ends = await endOffsets(client, [...tps.values()]);
  const offsets = [...tps.entries()]
    .map(([key, tp]) => {
      const c = committed.find((x) => x.topic === tp.topic && x.partition === tp.partition);
      const end = ends.get(key);
      const m = owner.get(key);
      return {
        topic: tp.topic,
        partition: tp.partition,
        committedOffset: c?.offset ?? null,
        logEndOffset: end ?? null,
        lag: c !== undefined && end !== undefined ? (end - c.offset < 0n ? 0n : end - c.offset) : null,
        memberId: m?.memberId ?? null,
        clientId: m?.clientId ?? null,
        host: m?.clientHost ?? null,
      };
    })
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  const totalLag = offsets.reduce((sum, o) => sum + (o.lag ?? 0n), 0n);
  if (args.json) {
    return printJson({ groupId, state: g.groupState, protocolType: g.protocolType, protocol: g.protocolData, members, offsets, totalLag });
  }
  printFields([
    ['GROUP', groupId],
    ['STATE', g.groupState],
    ['PROTOCOL', g.protocolType ? `${g.protocolType}${g.protocolData ? ` (${g.protocolData})` : ''}` : '-'],
    ['MEMBERS', members.length],
    ['TOTAL-LAG', totalLag],
  ]);
  if (members.length > 0) {
    process.stdout.write('\n');
    printTable(['MEMBER-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'], members.map((m) => [m.memberId, m.clientId, m.clientHost, formatAssignment(m.assignment)]));
  }
  if (offsets.length > 0) {
    process.stdout.write('\n');
    printTable(
      ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'MEMBER-ID', 'CLIENT-ID', 'HOST'],
      offsets.map((o) => [o.topic, o.partition, o.committedOffset, o.logEndOffset, o.lag, o.memberId, o.clientId, o.host]),
    );
  }
}

function formatAssignment(a: TopicPartitions[] | null): string {
  if (a === null) return '(not a consumer assignment)';
  if (a.length === 0) return '-';
  return a.map((t) => `${t.topic}:${t.partitions.sort((x, y) => x - y).join(',')}`).join(' ');
}

async function resetOffsets(client: KafkaClient, args: Args): Promise<void> {
  const groupId = String(args.group);
  const topic = String(args.topic);
  const modes = ['to-earliest', 'to-latest', 'to-offset', 'to-timestamp', 'shift-by'].filter((m) => args[m] !== undefined && args[m] !== false);
  if (modes.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset, --to-timestamp and --shift-by');
  const mode = modes[0]!;
  const g = await client.describeGroup(groupId);
  if (g.groupState !== 'Empty' && g.groupState !== 'Dead' && g.groupState !== '') {
    // ConsumerGroupCommand's wording (Kafka 3.9, tools/.../consumer/group/ConsumerGroupCommand.java resetOffsets).
    throw new Error(`Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${g.groupState}.`);
  }
  const info = await client.topic(topic, true);
  let partitions = info.partitions.map((p) => p.partition);
  if (args.partition !== undefined) {
    const p = parseIntFlag(args.partition, 'partition', 0);
    if (!partitions.includes(p)) throw new UsageError(`--partition ${p}: topic ${topic} has partitions 0-${partitions.length - 1}`);
    partitions = [p];
  }
  const earliest = new Map((await client.listOffsets(topic, partitions, EARLIEST_TIMESTAMP)).map((o) => [o.partition, o.offset]));
  const latest = new Map((await client.listOffsets(topic, partitions, LATEST_TIMESTAMP)).map((o) => [o.partition, o.offset]));
  const committed = new Map((await client.committedOffsets(groupId, [{ topic, partitions }])).map((c) => [c.partition, c.offset]));
  const target = new Map<number, bigint>();
  if (mode === 'to-earliest') for (const p of partitions) target.set(p, earliest.get(p)!);
  else if (mode === 'to-latest') for (const p of partitions) target.set(p, latest.get(p)!);
  else if (mode === 'to-offset') {
    const n = parseBigIntFlag(args['to-offset'], 'to-offset', 0n);
    for (const p of partitions) target.set(p, n);
  } else if (mode === 'to-timestamp') {
    const ts = parseBigIntFlag(args['to-timestamp'], 'to-timestamp', 0n);
    for (const o of await client.listOffsets(topic, partitions, ts)) target.set(o.partition, o.offset < 0n ? latest.get(o.partition)! : o.offset);
  } else {
    const shift = parseBigIntFlag(args['shift-by'], 'shift-by');
    for (const p of partitions) target.set(p, (committed.get(p) ?? latest.get(p)!) + shift);
  }
  // Kafka's tool clamps into [log start, log end] so a reset never points outside the log.
  for (const [p, o] of target) target.set(p, o < earliest.get(p)! ? earliest.get(p)! : o > latest.get(p)! ? latest.get(p)! : o);
  const plan = partitions.map((p) => ({ topic, partition: p, previousOffset: committed.get(p) ?? null, newOffset: target.get(p)! }));
  const execute = args.execute === true;
  if (execute) await client.commitOffsets(groupId, plan.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.newOffset })));
  if (args.json) return printJson({ groupId, executed: execute, offsets: plan });
  printTable(['TOPIC', 'PARTITION', 'PREVIOUS-OFFSET', 'NEW-OFFSET'], plan.map((r) => [r.topic, r.partition, r.previousOffset, r.newOffset]));
  process.stdout.write(execute ? `Reset the offsets of group ${groupId}.\n` : 'Dry run: nothing committed. Add --execute to commit these offsets.\n');
}

async function deleteGroups(client: KafkaClient, args: Args): Promise<void> {
  const results = await client.deleteGroups(toStringList(args.groups));
  if (args.json) printJson(results.map((r) => ({ groupId: r.groupId, error: r.errorCode === 0 ? null : r.errorCode })));
  else for (const r of results) if (r.errorCode === ErrorCode.NONE) process.stdout.write(`Deleted group ${r.groupId}.\n`);
  const failed = results.find((r) => r.errorCode !== ErrorCode.NONE);
  if (failed !== undefined) throw new KafkaClientError(failed.errorCode);
}

function run(handler: (client: KafkaClient, args: Args) => Promise<void>) {
  return (args: Record<string, unknown>) => withClient(args as unknown as ClientArgs, (client) => handler(client, args as Args));
}

export const groupCommand: CommandModule = {
  command: 'group',
  describe: 'List, describe (with lag), reset and delete consumer groups',
  builder: (y: Argv) =>
    y
      .command('list', 'List consumer groups on every broker', (c) => clientOptions(c).example('$0 group list', 'Groups with their state'), run(listGroups))
      .command(
        'describe <group>',
        'Members, assignments, committed offsets, end offsets and lag',
        (c) => clientOptions(c).positional('group', { type: 'string', describe: 'Group id' }).example('$0 group describe billing', 'Lag per partition').example('$0 group describe billing --json', 'As JSON'),
        run(describeGroup),
      )
      .command(
        'reset-offsets <group>',
        'Move a group\'s committed offsets (dry run unless --execute)',
        (c) =>
          clientOptions(c)
            .positional('group', { type: 'string', describe: 'Group id' })
            .option('topic', { alias: 't', type: 'string', demandOption: true, requiresArg: true, describe: 'Topic whose offsets to reset' })
            .option('partition', { alias: 'p', type: 'string', requiresArg: true, describe: 'Only this partition' })
            .option('to-earliest', { type: 'boolean', describe: 'To the log start offset' })
            .option('to-latest', { type: 'boolean', describe: 'To the log end offset' })
            .option('to-offset', { type: 'string', requiresArg: true, describe: 'To this offset' })
            .option('to-timestamp', { type: 'string', requiresArg: true, describe: 'To the first offset with timestamp >= MS' })
            .option('shift-by', { type: 'string', requiresArg: true, describe: 'Move the committed offset by N (negative: back)' })
            .option('execute', { type: 'boolean', default: false, describe: 'Commit the new offsets (otherwise only print them)' })
            .example('$0 group reset-offsets billing --topic orders --to-earliest', 'Show the plan')
            .example('$0 group reset-offsets billing --topic orders --shift-by -10 --execute', 'Replay the last 10 records of each partition'),
        run(resetOffsets),
      )
      .command(
        'delete <groups..>',
        'Delete consumer groups (they must have no members)',
        (c) => clientOptions(c).positional('groups', { type: 'string', array: true, describe: 'Group ids' }).example('$0 group delete billing', 'Delete one group'),
        run(deleteGroups),
      )
      .fail(usageFail)
      .demandCommand(1, 'Name a group command: list, describe, reset-offsets or delete.'),
  handler: () => undefined,
};
