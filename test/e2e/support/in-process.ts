/**
 * An in-process broker for the e2e suites (`createBroker` from src/index.ts) on 127.0.0.1:0 with a fresh
 * temporary data directory, plus small kafkajs helpers shared by those suites.
 */
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { Broker, BrokerOptions } from '../../../src/index.js';
import { makeTempDir, startTestBroker } from '../../helpers/in-process-broker.js';

export interface InProcessBroker {
  broker: Broker;
  dataDir: string;
  bootstrap: string;
  close(): Promise<void>;
}

export async function startInProcessBroker(options: Partial<BrokerOptions> = {}): Promise<InProcessBroker> {
  const started = await startTestBroker({ ...options, dataDir: options.dataDir ?? makeTempDir('eddy-e2e-') });
  return {
    broker: started.broker,
    dataDir: started.dataDir,
    bootstrap: `127.0.0.1:${started.port}`,
    close: () => started.stop(),
  };
}

export function kafkaClient(bootstrap: string, clientId: string, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 15000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    ...extra,
  });
}

/**
 * Every kafkajs error `type` (e.g. "INVALID_PARTITIONS") along an error's cause chain and inside aggregate
 * errors, so assertions don't depend on how kafkajs wraps a broker error code.
 */
export function errorTypes(error: unknown, depth = 0): string[] {
  if (error === null || typeof error !== 'object' || depth > 6) return [];
  const e = error as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown; name?: unknown };
  const types: string[] = [];
  if (typeof e.type === 'string') types.push(e.type);
  if (typeof e.name === 'string') types.push(e.name);
  types.push(...errorTypes(e.cause, depth + 1), ...errorTypes(e.originalError, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) types.push(...errorTypes(inner, depth + 1));
  return types;
}

/** Awaits `fn` and returns what it threw (fails if it did not throw). */
export async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}
