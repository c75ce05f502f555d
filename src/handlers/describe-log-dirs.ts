// DescribeLogDirs (key 35), versions 0–4.
// Kafka 3.9's broker path (KafkaApis.handleDescribeLogDirsRequest → ReplicaManager.describeLogDirs); what is
// reported is decided in log/log-dir-description.ts:
// - One result: the data dir (absolute path), its topics and partitions with each log's size in bytes, offset lag
//   0 and isFutureKey false. Topics null = every partition log on the broker; otherwise only the requested
//   partitions that have a log here (unknown ones are left out, and topics left empty too).
// - v3+: the top-level error code (NONE, or CLUSTER_AUTHORIZATION_FAILED as below).
// - v4 (KIP-827): the dir's total and usable bytes (statfs); -1 below v4, as the schema defaults them.
// - A data dir that cannot be examined answers its result with KAFKA_STORAGE_ERROR and nothing else.
// - ACLs (auth/authorizer.ts): DESCRIBE on the CLUSTER, otherwise no log dirs and, from v3, CLUSTER_AUTHORIZATION_FAILED.
// - Version notes: v1 is v0; v2 is flexible.
import { ApiKey } from '../protocol/generated/index.js';
import { makeDescribeLogDirsResponse, type DescribeLogDirsRequest, type DescribeLogDirsResponse } from '../protocol/generated/describe-log-dirs.js';
import { describeLogDir, type LogDirFilter } from '../log/log-dir-description.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, authorizeCluster } from '../auth/index.js';
import type { ApiHandler } from './types.js';

function filterOf(request: DescribeLogDirsRequest): LogDirFilter {
  if (request.topics === null) return null;
  const filter = new Map<string, Set<number>>();
  for (const t of request.topics) {
    let partitions = filter.get(t.topic);
    if (partitions === undefined) filter.set(t.topic, (partitions = new Set()));
    for (const p of t.partitions) partitions.add(p);
  }
  return filter;
}

export const describeLogDirsHandler: ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: ApiKey.DescribeLogDirs,
  name: 'DescribeLogDirs',
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    const dir = await describeLogDir(ctx.broker.logs, filterOf(request));
    const v4 = ctx.apiVersion >= 4;
    const res = makeDescribeLogDirsResponse();
    res.results = [
      {
        errorCode: dir.errorCode,
        logDir: dir.logDir,
        topics: dir.topics.map((t) => ({
          name: t.topic,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, partitionSize: BigInt(p.sizeBytes), offsetLag: 0n, isFutureKey: false })),
        })),
        totalBytes: v4 ? dir.totalBytes : -1n,
        usableBytes: v4 ? dir.usableBytes : -1n,
      },
    ];
    return res;
  },
  errorResponse(_request, errorCode, apiVersion) {
    // v0–v2 have no top-level error code: the answer is then just no log dirs.
    const res = makeDescribeLogDirsResponse();
    if (apiVersion >= 3) res.errorCode = errorCode;
    return res;
  },
};
