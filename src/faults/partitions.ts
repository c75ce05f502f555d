// Per-partition faults: where the topics and partitions sit in a request and its response, for the APIs on which a
// rule may name a topic (and partition).
//
// An error rule with a topic answers the matched partitions with its code and lets the handler answer the others,
// as a broker that lost leadership of one partition would:
//
//   matched partitions    outcome
//   none                  the rule does not match this request (not counted, not logged)
//   all                   the handler's errorResponse for the request (every partition with the code)
//   some                  the handler runs on a copy of the request without them (their records are never
//                         appended, a Fetch never reads or waits on them); their error entries, built by the
//                         handler's errorResponse on a copy holding only them, join its response under the
//                         same topic entry
//
// The handler's errorResponse is what builds every error entry. Fetch's is asked for its v12 shape, which lists
// the partitions (from v13 Kafka's FetchRequest.getErrorResponse gives only a top-level code, which clients treat
// as a failed request, not as a partition that moved), and its top-level code is then cleared.
import { ApiKey } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler, BrokerServices } from '../handlers/types.js';

interface PartitionShape {
  /** Field of the request's topic list, of a topic's partitions, and of a partition's index. */
  readonly topics: string;
  readonly partitions: string;
  readonly index: string;
  /** The same in the response. */
  readonly responseTopics: string;
  readonly responsePartitions: string;
  /** The topic's name, resolving a topic id (Fetch v13+). */
  topicName(entry: Record<string, unknown>, services: BrokerServices): string | undefined;
  /** Identifies a response topic entry (name, or id when the request used ids). */
  responseKey(entry: Record<string, unknown>): string;
  /** The error entries for a request holding only the matched partitions. */
  errorResponse(handler: ApiHandler, request: unknown, errorCode: number, apiVersion: number): Record<string, unknown>;
}

const byName = (entry: Record<string, unknown>): string => entry.name as string;

/** A non-zero topic id in the entry (Fetch v13+, Produce v13+ address topics by id), else undefined. */
function topicIdOf(entry: Record<string, unknown>): Buffer | undefined {
  const id = entry.topicId as Buffer | undefined;
  return id !== undefined && id.some((b) => b !== 0) ? id : undefined;
}

/** The topic's name from its id when it has one, else from `nameField`. */
function topicNameByIdOr(nameField: string) {
  return (entry: Record<string, unknown>, services: BrokerServices): string | undefined => {
    const id = topicIdOf(entry);
    return id !== undefined ? services.topics.getById(id)?.name : (entry[nameField] as string | undefined);
  };
}

/** Matches a response entry to its request entry: by id when the request used ids, else by name. */
function responseKeyByIdOr(nameField: string) {
  return (entry: Record<string, unknown>): string => {
    const id = topicIdOf(entry);
    return id !== undefined ? `id:${id.toString('hex')}` : `name:${String(entry[nameField])}`;
  };
}

const SHAPES = new Map<number, PartitionShape>([
  [
    ApiKey.Produce,
    {
      topics: 'topicData',
      partitions: 'partitionData',
      index: 'index',
      responseTopics: 'responses',
      responsePartitions: 'partitionResponses',
      topicName: topicNameByIdOr('name'),
      responseKey: responseKeyByIdOr('name'),
      errorResponse: (handler, request, code, v) => handler.errorResponse(request, code, v),
    },
  ],
  [
    ApiKey.Fetch,
    {
      topics: 'topics',
      partitions: 'partitions',
      index: 'partition',
      responseTopics: 'responses',
      responsePartitions: 'partitions',
      topicName: topicNameByIdOr('topic'),
      responseKey: responseKeyByIdOr('topic'),
      errorResponse: (handler, request, code) => {
        const res = handler.errorResponse(request, code, 12) as Record<string, unknown>;
        res.errorCode = ErrorCode.NONE;
        return res;
      },
    },
  ],
  [
    ApiKey.ListOffsets,
    {
      topics: 'topics',
      partitions: 'partitions',
      index: 'partitionIndex',
      responseTopics: 'topics',
      responsePartitions: 'partitions',
      topicName: byName,
      responseKey: byName,
      errorResponse: (handler, request, code, v) => handler.errorResponse(request, code, v),
    },
  ],
]);

/** The API keys on which a rule may name a topic. */
export const PARTITIONED_APIS: ReadonlySet<number> = new Set(SHAPES.keys());

export interface PartitionSplit {
  /** The request with only the matched partitions, and with only the others (null when none are left). */
  matched: unknown;
  rest: unknown | null;
}

type Entry = Record<string, unknown>;

/** Splits `request` by the rule's topic and partition; null when no partition matches. */
export function splitRequest(
  apiKey: number,
  request: unknown,
  topic: string,
  partition: number | null,
  services: BrokerServices,
): PartitionSplit | null {
  const shape = SHAPES.get(apiKey)!;
  const topics = (request as Entry)[shape.topics] as Entry[];
  const matchedTopics: Entry[] = [];
  const restTopics: Entry[] = [];
  for (const t of topics) {
    const partitions = t[shape.partitions] as Entry[];
    if (shape.topicName(t, services) !== topic) {
      restTopics.push(t);
      continue;
    }
    if (partition === null) {
      matchedTopics.push(t);
      continue;
    }
    const hit = partitions.filter((p) => p[shape.index] === partition);
    if (hit.length === 0) {
      restTopics.push(t);
      continue;
    }
    matchedTopics.push({ ...t, [shape.partitions]: hit });
    if (hit.length < partitions.length) restTopics.push({ ...t, [shape.partitions]: partitions.filter((p) => p[shape.index] !== partition) });
  }
  if (matchedTopics.length === 0) return null;
  return {
    matched: { ...(request as Entry), [shape.topics]: matchedTopics },
    rest: restTopics.length === 0 ? null : { ...(request as Entry), [shape.topics]: restTopics },
  };
}

/** The error entries for the matched partitions (a whole response when nothing else was asked). */
export function partitionErrorResponse(apiKey: number, handler: ApiHandler, matched: unknown, errorCode: number, apiVersion: number): Entry {
  return SHAPES.get(apiKey)!.errorResponse(handler, matched, errorCode, apiVersion);
}

/** Adds the error entries of `errors` to `response`, under the same topic entry when there is one. */
export function mergeResponses(apiKey: number, response: Entry, errors: Entry): Entry {
  const shape = SHAPES.get(apiKey)!;
  const topics = response[shape.responseTopics] as Entry[];
  const byKey = new Map(topics.map((t) => [shape.responseKey(t), t]));
  for (const t of errors[shape.responseTopics] as Entry[]) {
    const existing = byKey.get(shape.responseKey(t));
    if (existing === undefined) topics.push(t);
    else (existing[shape.responsePartitions] as Entry[]).push(...(t[shape.responsePartitions] as Entry[]));
  }
  return response;
}
