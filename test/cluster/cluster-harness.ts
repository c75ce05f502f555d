// Shared set-up for the cluster tests: one real etcd per test file, a fresh key prefix per test, and several
// ClusterMetadata instances in this process standing for brokers. Everything opened is closed in `closeAll()`.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { ClusterMetadata, type ClusterMetadataOptions } from '../../src/cluster/cluster-metadata.js';
import type { MetadataImage } from '../../src/cluster/metadata-image.js';

/** A pino logger that keeps its JSON lines (level from EDDY_TEST_LOG, default warn). */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env.EDDY_TEST_LOG !== undefined) process.stderr.write(chunk);
      done();
    },
  });
  return { logger: pino({ level: process.env.EDDY_TEST_LOG ?? 'warn' }, stream), lines };
}

export function newPrefix(): string {
  return `/eddy-test-${randomBytes(6).toString('hex')}`;
}

export class ClusterHarness {
  readonly prefix = newPrefix();
  readonly brokers = new Map<number, ClusterMetadata>();
  readonly log = captureLogger();
  private readonly opened: ClusterMetadata[] = [];

  constructor(
    readonly etcdEndpoint: string,
    private readonly defaults: Partial<ClusterMetadataOptions> = {},
  ) {}

  options(nodeId: number, overrides: Partial<ClusterMetadataOptions> = {}): ClusterMetadataOptions {
    return {
      endpoints: [this.etcdEndpoint],
      prefix: this.prefix,
      nodeId,
      brokerEndpoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + nodeId, securityProtocol: 'PLAINTEXT' }],
      sessionTimeoutMs: 2000,
      heartbeatIntervalMs: 300,
      connectTimeoutMs: 3000,
      requestTimeoutMs: 1500,
      logger: this.log.logger,
      controller: { tickIntervalMs: 200, autoLeaderRebalanceEnable: false },
      ...this.defaults,
      ...overrides,
    };
  }

  async open(nodeId: number, overrides: Partial<ClusterMetadataOptions> = {}): Promise<ClusterMetadata> {
    const cluster = await ClusterMetadata.open(this.options(nodeId, overrides));
    this.opened.push(cluster);
    this.brokers.set(nodeId, cluster);
    return cluster;
  }

  async openAll(nodeIds: number[], overrides: (id: number) => Partial<ClusterMetadataOptions> = () => ({})): Promise<ClusterMetadata[]> {
    const out: ClusterMetadata[] = [];
    for (const id of nodeIds) out.push(await this.open(id, overrides(id)));
    // Every broker sees every other before the test starts.
    await Promise.all(out.map((c) => waitFor(() => nodeIds.every((id) => c.image.broker(id) !== undefined), 'all brokers registered')));
    return out;
  }

  controller(): ClusterMetadata | undefined {
    return [...this.brokers.values()].find((c) => c.isController);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.opened.map((c) => c.close().catch(() => undefined)));
    this.opened.length = 0;
    this.brokers.clear();
  }
}

/** Polls `condition` every 25 ms until true or `timeoutMs` (then throws naming `what`). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Waits until `cluster`'s image satisfies `predicate`; returns that image. */
export async function waitForImage(cluster: ClusterMetadata, predicate: (image: MetadataImage) => boolean, what: string, timeoutMs = 10_000): Promise<MetadataImage> {
  await waitFor(() => predicate(cluster.image), what, timeoutMs);
  return cluster.image;
}
