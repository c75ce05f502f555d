/**
 * A TCP proxy (node:net, 127.0.0.1 only) between Kafka clients and a broker, for the idempotent-producer tests
 * (issue 9): it drops every proxied connection on demand, so that a client has to retry what it had in flight.
 *
 * The broker is started with `--advertised-host 127.0.0.1 --advertised-port <proxy port>` (or the in-process
 * `advertisedHost`/`advertisedPort` options), so Metadata sends clients back through the proxy and they never
 * talk to the broker directly.
 *
 * `dropAfterProduce()` makes the drop hit a Produce that the broker has received and answered but the client has
 * not: it watches the request frames a client sends (size-prefixed, api key in the first two bytes of the header),
 * and once a Produce (api key 0) has been forwarded whole, it stops passing broker bytes to every client, waits
 * (bounded) until the broker's response to that Produce (by correlation id) starts arriving, runs an optional action (e.g. kill -9
 * of the broker) and destroys every connection. A retried batch after that is a duplicate for the broker.
 */
import net from 'node:net';
import { API_CODECS } from '../../src/protocol/generated/index.js';
import type { ProduceRequest } from '../../src/protocol/generated/produce.js';
import { readRequestHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';

const PRODUCE_API_KEY = 0;

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Bytes of the current request frame still to come (client → broker); 0 at a frame boundary. */
  remaining: number;
  /** Start of a frame header split across chunks. */
  partialHeader: Buffer;
  /** The frame being read is a Produce request. */
  inProduce: boolean;
  /** The Produce frame being read (header and body, without the size prefix) and how much of it is filled. */
  frame: Buffer | undefined;
  filled: number;
  /** Batches of the last Produce frame completed on this connection. */
  lastProduced: string[];
  /** Correlation id of the last Produce frame completed on this connection. */
  lastProduceCorrelationId: number;
  /** Response-frame parser (broker → client): bytes of the current frame still to come, split header. */
  responseRemaining: number;
  responseHeader: Buffer;
  /** Called when a response with this correlation id starts arriving from the broker. */
  awaitResponse: { correlationId: number; done: () => void } | undefined;
}

export interface DropResult {
  /** True when a forwarded Produce triggered the drop; false when `maxWaitMs` passed first. */
  afterProduce: boolean;
  /** True when the broker answered that Produce before the drop (the answer was swallowed: the client never saw it). */
  answered: boolean;
  /** The batches of the Produce that triggered the drop (see recordProduce). */
  batches: string[];
  dropped: number;
}

export interface DropOptions {
  /** Bound on waiting for a Produce, then for the broker's answer to it (each). Default 2000 ms. */
  maxWaitMs?: number;
  /** Runs after the broker answered (or the wait ran out) and before the connections are destroyed. */
  beforeDrop?: () => Promise<void>;
}

export class DroppingProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private upstreamPort: number;
  /** While set, broker → client bytes are discarded on every connection. */
  private swallowing = false;
  private armed: ((pair: Pair) => void) | undefined;
  port = 0;
  connections = 0;
  /** How many times each batch (see recordProduce) was sent to the broker. */
  readonly produced = new Map<string, number>();
  drops = 0;

  private constructor(upstreamPort: number) {
    this.upstreamPort = upstreamPort;
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(upstreamPort: number, port = 0): Promise<DroppingProxy> {
    const proxy = new DroppingProxy(upstreamPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy.port = address.port;
    return proxy;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** New connections go to this broker port (after a restart on another port). */
  setUpstream(port: number): void {
    this.upstreamPort = port;
  }

  private accept(client: net.Socket): void {
    this.connections++;
    const upstream = net.connect({ host: '127.0.0.1', port: this.upstreamPort });
    const pair: Pair = { client, upstream, remaining: 0, partialHeader: Buffer.alloc(0), inProduce: false, frame: undefined, filled: 0, lastProduced: [], lastProduceCorrelationId: -1, responseRemaining: 0, responseHeader: Buffer.alloc(0), awaitResponse: undefined };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const close = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      const produceEnded = this.track(pair, chunk);
      const trigger = this.armed;
      if (produceEnded && trigger !== undefined) {
        this.armed = undefined;
        trigger(pair);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.swallowing) client.write(chunk);
      this.trackResponses(pair, chunk);
    });
  }

  /** Advances the request-frame parser over `chunk`; true when a Produce frame ended in it. */
  private track(pair: Pair, chunk: Buffer): boolean {
    let produceEnded = false;
    let pos = 0;
    while (pos < chunk.length) {
      if (pair.remaining > 0) {
        const take = Math.min(pair.remaining, chunk.length - pos);
        if (pair.frame !== undefined) pair.filled += chunk.copy(pair.frame, pair.filled, pos, pos + take);
        pair.remaining -= take;
        pos += take;
        if (pair.remaining === 0 && pair.inProduce) {
          produceEnded = true;
          this.recordProduce(pair);
        }
        continue;
      }
      // At a frame boundary: need size (4) + api key (2).
      const need = 6 - pair.partialHeader.length;
      const piece = chunk.subarray(pos, pos + need);
      pair.partialHeader = Buffer.concat([pair.partialHeader, piece]);
      pos += piece.length;
      if (pair.partialHeader.length < 6) break;
      const size = pair.partialHeader.readInt32BE(0);
      pair.inProduce = pair.partialHeader.readInt16BE(4) === PRODUCE_API_KEY;
      if (pair.inProduce && size >= 2) {
        pair.frame = Buffer.allocUnsafe(size);
        pair.filled = pair.partialHeader.copy(pair.frame, 0, 4, 6);
      } else {
        pair.frame = undefined;
      }
      pair.partialHeader = Buffer.alloc(0);
      pair.remaining = size - 2;
      if (pair.remaining <= 0) {
        pair.remaining = 0;
        if (pair.inProduce) produceEnded = true;
      }
    }
    return produceEnded;
  }

  /** Advances the response-frame parser; calls `awaitResponse.done` when its correlation id shows up. */
  private trackResponses(pair: Pair, chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (pair.responseRemaining > 0) {
        const take = Math.min(pair.responseRemaining, chunk.length - pos);
        pair.responseRemaining -= take;
        pos += take;
        continue;
      }
      const piece = chunk.subarray(pos, pos + 8 - pair.responseHeader.length);
      pair.responseHeader = Buffer.concat([pair.responseHeader, piece]);
      pos += piece.length;
      if (pair.responseHeader.length < 8) break;
      pair.responseRemaining = Math.max(0, pair.responseHeader.readInt32BE(0) - 4);
      const correlationId = pair.responseHeader.readInt32BE(4);
      pair.responseHeader = Buffer.alloc(0);
      const waiter = pair.awaitResponse;
      if (waiter !== undefined && waiter.correlationId === correlationId) {
        pair.awaitResponse = undefined;
        waiter.done();
      }
    }
  }

  /**
   * Decodes the Produce frame just completed and counts each batch it carries, as
   * `topic-partition producerId/epoch seq baseSequence+recordCount`.
   */
  private recordProduce(pair: Pair): void {
    const frame = pair.frame;
    pair.frame = undefined;
    if (frame === undefined) return;
    const r = new Reader(frame);
    const header = readRequestHeader(r);
    const request = API_CODECS.get(PRODUCE_API_KEY)!.readRequest(r, header.requestApiVersion) as ProduceRequest;
    const ids: string[] = [];
    for (const topic of request.topicData) {
      for (const part of topic.partitionData) {
        const records = part.records;
        if (records === null) continue;
        for (let pos = 0; pos + 61 <= records.length; pos += 12 + records.readInt32BE(pos + 8)) {
          ids.push(
            `${topic.name}-${part.index} ${records.readBigInt64BE(pos + 43)}/${records.readInt16BE(pos + 51)} ` +
              `seq ${records.readInt32BE(pos + 53)}+${records.readInt32BE(pos + 57)}`,
          );
        }
      }
    }
    for (const id of ids) this.produced.set(id, (this.produced.get(id) ?? 0) + 1);
    pair.lastProduced = ids;
    pair.lastProduceCorrelationId = header.correlationId;
  }

  /** Destroys every proxied connection now; returns how many there were. */
  dropAll(): number {
    const count = this.pairs.size;
    for (const pair of [...this.pairs]) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    this.drops++;
    return count;
  }

  /** See the file header. Bounded: each wait ends after `maxWaitMs`. */
  async dropAfterProduce(options: DropOptions = {}): Promise<DropResult> {
    const maxWaitMs = options.maxWaitMs ?? 2000;
    const triggered = await new Promise<Pair | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.armed = undefined;
        resolve(undefined);
      }, maxWaitMs);
      this.armed = (pair) => {
        clearTimeout(timer);
        this.swallowing = true;
        resolve(pair);
      };
    });
    this.swallowing = true;
    let answered = false;
    if (triggered !== undefined && this.pairs.has(triggered)) {
      answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          triggered.awaitResponse = undefined;
          resolve(false);
        }, maxWaitMs);
        triggered.awaitResponse = {
          correlationId: triggered.lastProduceCorrelationId,
          done: () => {
            clearTimeout(timer);
            resolve(true);
          },
        };
      });
    }
    let dropped = 0;
    try {
      if (options.beforeDrop !== undefined) await options.beforeDrop();
    } finally {
      dropped = this.dropAll();
      this.swallowing = false;
    }
    return { afterProduce: triggered !== undefined, answered, dropped, batches: triggered?.lastProduced ?? [] };
  }

  async close(): Promise<void> {
    this.armed = undefined;
    for (const pair of [...this.pairs]) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
