// The console's view of the broker's JSON API (src/http/console-api.ts documents every field), and fetching it.

export interface Cluster {
  clusterId: string;
  nodeId: number;
  version: string;
  listener: string;
  topics: number;
  partitions: number;
  groups: number;
  connections: number | null;
}

export interface TopicSummary {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: number;
  sizeBytes: number;
  records: number;
}

export interface Config {
  name: string;
  value: string | null;
  source: string;
  readOnly: boolean;
  sensitive: boolean;
  type: string;
  documentation: string | null;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  logStartOffset: number | null;
  highWatermark: number | null;
  logEndOffset: number | null;
  lastStableOffset: number | null;
  sizeBytes: number | null;
  segments: number | null;
  offline: boolean;
}

export interface TopicDetail {
  name: string;
  topicId: string;
  internal: boolean;
  partitions: PartitionInfo[];
  configs: Config[];
}

/** Bytes as the API sends them: base64, cut to the first 16 KiB; `size` is the whole length. */
export interface Bytes {
  data: string;
  size: number;
}

export interface RecordView {
  offset: number;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  key: Bytes | null;
  value: Bytes | null;
  headers: Array<{ key: string; value: Bytes | null }>;
}

export interface RecordPage {
  topic: string;
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  startOffset: number;
  nextOffset: number;
  records: RecordView[];
}

export interface GroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
  lag: number;
}

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  assignment: Array<{ topic: string; partitions: number[] }> | null;
}

export interface GroupPartition {
  topic: string;
  partition: number;
  committedOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  clientHost: string | null;
  metadata: string | null;
}

export interface GroupDetail {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string | null;
  generationId: number;
  leaderId: string | null;
  members: GroupMember[];
  partitions: GroupPartition[];
}

export interface Counters {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

export interface Stats {
  timeMs: number;
  total: Counters;
  topics: Array<Counters & { topic: string }>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * GET a JSON document of the API; an error answer becomes an ApiError with the server's code and message. A body
 * that is not JSON (or a read aborted half way) rejects, never resolves with null.
 */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { signal, headers: { accept: 'application/json' } });
  if (res.ok) return (await res.json()) as T;
  const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  throw new ApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? res.statusText);
}

export const enc = encodeURIComponent;
