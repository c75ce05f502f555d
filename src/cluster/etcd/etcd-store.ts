// The only code that talks to etcd (the `etcd3` npm client over gRPC). Everything the cluster needs from etcd is
// here, in etcd's own terms, with revisions as numbers and values as Buffers:
// - connect: one probe (Maintenance.Status) retried until `connectTimeoutMs`; failure is BrokerError
//   ETCD_UNREACHABLE naming the endpoints.
// - every unary call carries a deadline (`requestTimeoutMs`), so a paused or partitioned etcd makes calls fail
//   instead of hanging. The client's own retry and circuit-breaker policies are replaced: a call whose endpoint is
//   unavailable moves to another endpoint (several `--etcd` URLs), nothing else is retried here (the callers,
//   membership, controller and writes, own their retries), and no circuit is left open after an etcd restart.
// - txn: compare-and-swap on create_revision / mod_revision / version / lease / value, then puts and deletes.
// - leases: grant, one keepalive (a short stream with a deadline), revoke. The keepalive schedule and the "lease
//   lost" decision live in lease-keeper.ts.
// - watchPrefix: one watch stream over a prefix from a start revision. We track the resume point ourselves (the
//   mod_revision of the last event delivered + 1, or a progress notification's header revision + 1) and open a new
//   stream from there whenever the stream fails, so an etcd restart loses no event. A start revision that etcd has
//   compacted is reported to the caller (onCompacted), which reloads from a fresh range read.
import { Etcd3, type IOptions, type IKeyValue, type ICompare, type IRequestOp, type IWatchResponse } from 'etcd3';
import type { Logger } from 'pino';
import { BrokerError } from '../../errors.js';

export interface EtcdStoreOptions {
  /** etcd client URLs, e.g. `['http://127.0.0.1:2379']`. */
  endpoints: string[];
  /** How long connect() keeps probing before ETCD_UNREACHABLE (default 5000). */
  connectTimeoutMs?: number;
  /** Deadline of every unary call (default 5000). */
  requestTimeoutMs?: number;
  logger: Logger;
}

export interface EtcdKeyValue {
  key: string;
  /** Empty for a delete event. */
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease id as a decimal string, '0' when none. */
  lease: string;
}

export interface EtcdEvent {
  type: 'put' | 'delete';
  /** For a delete: the key, and modRevision = the revision of the delete. */
  kv: EtcdKeyValue;
}

export type EtcdCompareTarget = 'create' | 'mod' | 'version' | 'lease' | 'value';
export type EtcdCompareResult = '=' | '!=' | '<' | '>';

export interface EtcdCompare {
  key: string;
  target: EtcdCompareTarget;
  result: EtcdCompareResult;
  value: number | string | Buffer;
}

export type EtcdOp =
  | { type: 'put'; key: string; value: Buffer | string; lease?: string }
  | { type: 'delete'; key: string }
  | { type: 'deletePrefix'; prefix: string }
  | { type: 'get'; key: string };

export interface EtcdTxnResult {
  succeeded: boolean;
  /** The store revision after the txn (= the mod_revision of every key it wrote, when it wrote). */
  revision: number;
  /** Key-values returned by `get` ops of the branch that ran, in op order (undefined for an absent key). */
  gets: Array<EtcdKeyValue | undefined>;
}

export interface EtcdWatchListener {
  /** Events in revision order, never split inside a revision. */
  onEvents(events: EtcdEvent[]): void;
  /** Every event up to `revision` (inclusive) has been delivered (etcd progress notification). */
  onProgress?(revision: number): void;
  /** The resume revision was compacted away: the watch has stopped; reload with a range read. */
  onCompacted(compactRevision: number): void;
  /** The stream failed; it is re-opened from the resume point after a backoff. */
  onDisconnected?(err: Error): void;
}

export interface EtcdWatch {
  /** The next revision the watch will deliver. */
  readonly nextRevision: number;
  close(): void;
}

const COMPARE_TARGETS = { version: 'Version', create: 'Create', mod: 'Mod', value: 'Value', lease: 'Lease' } as const;
const COMPARE_RESULTS = { '=': 'Equal', '>': 'Greater', '<': 'Less', '!=': 'NotEqual' } as const;
const COMPARE_FIELDS = { version: 'version', create: 'create_revision', mod: 'mod_revision', value: 'value', lease: 'lease' } as const;

const WATCH_BACKOFF_INITIAL_MS = 100;
const WATCH_BACKOFF_MAX_MS = 2000;

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** A policy that runs the call once: no retry, no circuit breaker (the callers own retries). */
const passThroughPolicy = {
  execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    return Promise.resolve().then(() => fn({ signal: new AbortController().signal }));
  },
} as unknown as FaultPolicy;

/** A connection-level failure of one endpoint (refused, unreachable): another endpoint may answer. */
function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | undefined;
  return e?.name === 'GRPCUnavailableError' || /\bUNAVAILABLE\b|ECONNREFUSED|ECONNRESET|EHOSTUNREACH/.test(e?.message ?? '');
}

/**
 * With several endpoints (`--etcd a,b,c`), a call that finds its endpoint unavailable is tried again, each time on
 * an endpoint the client picks afresh, up to twice the number of endpoints; with one endpoint it runs once. Other
 * errors (deadlines, etcd's own answers) are not retried here: the callers own those retries.
 */
function failoverPolicy(endpointCount: number): FaultPolicy {
  const attempts = endpointCount > 1 ? endpointCount * 2 : 1;
  return {
    async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
      let lastError: unknown;
      for (let attempt = 0; attempt < attempts; attempt++) {
        try {
          return await fn({ signal: new AbortController().signal });
        } catch (err) {
          lastError = err;
          if (!isUnavailable(err)) throw err;
        }
      }
      throw lastError;
    },
  } as unknown as FaultPolicy;
}

/** The key range end covering every key that starts with `prefix` (etcd's prefix convention). */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function toKeyValue(kv: IKeyValue): EtcdKeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value ?? Buffer.alloc(0),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: String(kv.lease ?? '0'),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class EtcdStore {
  readonly endpoints: readonly string[];
  private readonly client: Etcd3;
  private readonly requestTimeoutMs: number;
  private readonly logger: Logger;
  private readonly watches = new Set<PrefixWatch>();
  private closed = false;

  private constructor(options: EtcdStoreOptions) {
    this.endpoints = options.endpoints;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.logger = options.logger;
    const requestTimeoutMs = this.requestTimeoutMs;
    this.client = new Etcd3({
      hosts: [...options.endpoints],
      faultHandling: { host: () => passThroughPolicy, global: failoverPolicy(options.endpoints.length) },
      // Streams (watch, keepalive) live long; their deadline, when any, is given per call.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
    });
  }

  /** Connects, probing etcd until it answers or `connectTimeoutMs` passes (then BrokerError ETCD_UNREACHABLE). */
  static async connect(options: EtcdStoreOptions): Promise<EtcdStore> {
    if (options.endpoints.length === 0) throw new BrokerError('ETCD_UNREACHABLE', 'no etcd endpoint given');
    const store = new EtcdStore(options);
    const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    const deadline = Date.now() + connectTimeoutMs;
    let lastError: unknown;
    // Bounded: one probe per ≤ 200 ms until the deadline.
    while (Date.now() < deadline) {
      try {
        const probeDeadline = Math.min(deadline, Date.now() + store.requestTimeoutMs);
        await store.client.maintenance.status({ deadline: probeDeadline });
        return store;
      } catch (err) {
        lastError = err;
        const waitMs = Math.min(200, deadline - Date.now());
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
    store.close();
    throw new BrokerError(
      'ETCD_UNREACHABLE',
      `cannot reach etcd at ${options.endpoints.join(',')}: ${errorText(lastError ?? 'no answer')} (tried for ${connectTimeoutMs} ms)`,
      { cause: lastError },
    );
  }

  async get(key: string): Promise<EtcdKeyValue | undefined> {
    const res = await this.client.kv.range({ key: Buffer.from(key) });
    const kv = res.kvs[0];
    return kv === undefined ? undefined : toKeyValue(kv);
  }

  /** One key and the store revision of the read (to wait until a local image has caught up with it). */
  async read(key: string): Promise<{ revision: number; kv: EtcdKeyValue | undefined }> {
    const res = await this.client.kv.range({ key: Buffer.from(key) });
    const kv = res.kvs[0];
    return { revision: Number(res.header.revision), kv: kv === undefined ? undefined : toKeyValue(kv) };
  }

  /** Every key under `prefix` at one revision (the revision returned). */
  async range(prefix: string): Promise<{ revision: number; kvs: EtcdKeyValue[] }> {
    const res = await this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixRangeEnd(prefix) });
    return { revision: Number(res.header.revision), kvs: res.kvs.map(toKeyValue) };
  }

  /** If every compare holds, runs `success`, else `failure`; atomically (etcd Txn). */
  async txn(compares: EtcdCompare[], success: EtcdOp[], failure: EtcdOp[] = []): Promise<EtcdTxnResult> {
    const res = await this.client.kv.txn({
      compare: compares.map(toCompare),
      success: success.map(toRequestOp),
      failure: failure.map(toRequestOp),
    });
    const ops = res.succeeded ? success : failure;
    const gets: Array<EtcdKeyValue | undefined> = [];
    (res.responses ?? []).forEach((r, i) => {
      if (ops[i]?.type !== 'get') return;
      const kv = r.response_range?.kvs[0];
      gets.push(kv === undefined ? undefined : toKeyValue(kv));
    });
    return { succeeded: res.succeeded, revision: Number(res.header.revision), gets };
  }

  /** Grants a lease; returns its id and the TTL etcd granted (etcd may raise a small TTL to its minimum). */
  async grantLease(ttlSeconds: number): Promise<{ id: string; ttlSeconds: number }> {
    const res = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds });
    return { id: String(res.ID), ttlSeconds: Number(res.TTL) };
  }

  /** One keepalive; resolves to the lease's remaining TTL in seconds (0 = the lease has expired or is unknown). */
  async keepAliveOnce(leaseId: string): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive({ deadline: Date.now() + this.requestTimeoutMs });
    try {
      return await new Promise<number>((resolve, reject) => {
        stream.on('data', (res: { TTL: string }) => resolve(Number(res.TTL)));
        stream.on('error', (err: Error) => reject(err));
        stream.on('end', () => reject(new Error('keepalive stream ended without an answer')));
        stream.write({ ID: leaseId });
      });
    } finally {
      stream.end();
    }
  }

  async revokeLease(leaseId: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: leaseId });
    } catch (err) {
      // An expired lease is already gone: nothing left to revoke.
      if (!/requested lease not found/i.test(errorText(err))) throw err;
    }
  }

  /** Watches every key under `prefix` from `startRevision` (inclusive), reconnecting on failure (see header). */
  watchPrefix(prefix: string, startRevision: number, listener: EtcdWatchListener): EtcdWatch {
    const watch = new PrefixWatch(this.client, this.logger, prefix, startRevision, listener, () => this.watches.delete(watch));
    this.watches.add(watch);
    watch.open();
    return watch;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.watches]) watch.close();
    this.client.close();
  }
}

function toCompare(c: EtcdCompare): ICompare {
  const value = typeof c.value === 'string' && c.target === 'value' ? Buffer.from(c.value) : c.value;
  return {
    key: Buffer.from(c.key),
    target: COMPARE_TARGETS[c.target],
    result: COMPARE_RESULTS[c.result],
    [COMPARE_FIELDS[c.target]]: c.target === 'value' ? value : String(value),
  };
}

function toRequestOp(op: EtcdOp): IRequestOp {
  switch (op.type) {
    case 'put':
      return {
        request_put: {
          key: Buffer.from(op.key),
          value: typeof op.value === 'string' ? Buffer.from(op.value) : op.value,
          ...(op.lease !== undefined ? { lease: op.lease } : {}),
        },
      };
    case 'delete':
      return { request_delete_range: { key: Buffer.from(op.key) } };
    case 'deletePrefix':
      return { request_delete_range: { key: Buffer.from(op.prefix), range_end: prefixRangeEnd(op.prefix) } };
    case 'get':
      return { request_range: { key: Buffer.from(op.key) } };
  }
}

interface WatchStream {
  on(event: 'data', handler: (res: IWatchResponse) => void): WatchStream;
  on(event: 'error', handler: (err: Error) => void): WatchStream;
  on(event: 'end', handler: () => void): WatchStream;
  write(req: unknown): boolean;
  cancel(): void;
  removeAllListeners(): void;
}

class PrefixWatch implements EtcdWatch {
  nextRevision: number;
  private stream: WatchStream | undefined;
  private closed = false;
  private backoffMs = WATCH_BACKOFF_INITIAL_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly logger: Logger,
    private readonly prefix: string,
    startRevision: number,
    private readonly listener: EtcdWatchListener,
    private readonly onClosed: () => void,
  ) {
    this.nextRevision = startRevision;
  }

  open(): void {
    if (this.closed) return;
    this.client.watchClient
      .watch()
      .then((raw) => {
        const stream = raw as unknown as WatchStream;
        if (this.closed) {
          stream.cancel();
          return;
        }
        this.stream = stream;
        let failed = false;
        const fail = (err: Error): void => {
          if (failed || this.stream !== stream) return;
          failed = true;
          this.dropStream();
          this.scheduleReopen(err);
        };
        stream.on('data', (res) => this.handleResponse(res, fail));
        stream.on('error', fail);
        stream.on('end', () => fail(new Error('etcd watch stream ended')));
        stream.write({
          create_request: {
            key: Buffer.from(this.prefix),
            range_end: prefixRangeEnd(this.prefix),
            start_revision: this.nextRevision,
            progress_notify: true,
          },
        });
      })
      .catch((err: unknown) => this.scheduleReopen(err instanceof Error ? err : new Error(String(err))));
  }

  private handleResponse(res: IWatchResponse, fail: (err: Error) => void): void {
    if (this.closed) return;
    const compactRevision = Number(res.compact_revision ?? 0);
    if (compactRevision > 0) {
      this.logger.warn({ prefix: this.prefix, nextRevision: this.nextRevision, compactRevision }, 'etcd watch revision compacted');
      this.close();
      this.listener.onCompacted(compactRevision);
      return;
    }
    if (res.canceled) {
      fail(new Error(`etcd watch canceled: ${res.cancel_reason || 'no reason given'}`));
      return;
    }
    if (res.created) {
      this.backoffMs = WATCH_BACKOFF_INITIAL_MS;
      return;
    }
    const events = res.events ?? [];
    if (events.length > 0) {
      const mapped: EtcdEvent[] = events.map((ev) => ({ type: ev.type === 'Delete' ? 'delete' : 'put', kv: toKeyValue(ev.kv) }));
      this.nextRevision = mapped[mapped.length - 1]!.kv.modRevision + 1;
      this.listener.onEvents(mapped);
    } else {
      // A progress notification: the watcher is synced up to the header revision.
      const revision = Number(res.header.revision);
      if (revision + 1 > this.nextRevision) this.nextRevision = revision + 1;
      this.listener.onProgress?.(revision);
    }
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (stream === undefined) return;
    stream.removeAllListeners();
    // A cancelled stream may still emit 'error' (CANCELLED): keep one no-op listener so it is not thrown.
    stream.on('error', () => undefined);
    stream.cancel();
  }

  private scheduleReopen(err: Error): void {
    if (this.closed) return;
    this.logger.debug({ prefix: this.prefix, nextRevision: this.nextRevision, err: err.message }, 'etcd watch disconnected');
    this.listener.onDisconnected?.(err);
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(WATCH_BACKOFF_MAX_MS, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, delayMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.dropStream();
    this.onClosed();
  }
}
