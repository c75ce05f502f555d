// Small helpers shared by the group API handlers.
import type { OffsetToCommit } from '../group/coordinator.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { RequestContext } from './types.js';
export { NO_AUTHORIZED_OPERATIONS } from './acl-operations.js';

/** The client host Kafka reports for a member (DescribeGroups `client_host`): "/" + the peer address. */
export function clientHost(ctx: RequestContext): string {
  const host = ctx.clientAddress;
  return `/${host.startsWith('::ffff:') ? host.slice(7) : host}`;
}

/** Kafka's authorized operations for a group without an authorizer: READ (3), DELETE (6), DESCRIBE (8). */
export const ALL_GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

/**
 * The per-partition part of OffsetCommit and TxnOffsetCommit: a topic the principal may not READ answers
 * TOPIC_AUTHORIZATION_FAILED (auth/authorizer.ts); a partition of an unknown topic, or out of its range,
 * answers UNKNOWN_TOPIC_OR_PARTITION (Kafka's KafkaApis checks it before the coordinator); the others become the
 * entries given to `commit`, whose codes land in their places. Returns codes[topic][partition], in request order.
 */
export async function commitEachPartition<P extends { partitionIndex: number }>(
  ctx: RequestContext,
  topics: ReadonlyArray<{ name: string; partitions: readonly P[] }>,
  toEntry: (topic: string, partition: P) => OffsetToCommit,
  commit: (entries: OffsetToCommit[]) => Promise<number[]>,
): Promise<number[][]> {
  const codes = topics.map((t) => t.partitions.map((): number => ErrorCode.NONE));
  const entries: OffsetToCommit[] = [];
  const positions: Array<[number, number]> = [];
  topics.forEach((t, ti) => {
    if (!authorize(ctx, AclOperation.READ, ResourceType.TOPIC, t.name)) {
      codes[ti]!.fill(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      return;
    }
    const topic = ctx.broker.topics.get(t.name);
    t.partitions.forEach((p, pi) => {
      if (topic === undefined || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) {
        codes[ti]![pi] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return;
      }
      entries.push(toEntry(t.name, p));
      positions.push([ti, pi]);
    });
  });
  if (entries.length > 0) {
    (await commit(entries)).forEach((code, i) => {
      const [ti, pi] = positions[i]!;
      codes[ti]![pi] = code;
    });
  }
  return codes;
}
