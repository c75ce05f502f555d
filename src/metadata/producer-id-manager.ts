// Producer ids for InitProducerId: unique for the life of the data dir, never reused across restarts or crashes.
//
// Kafka hands them out in blocks of PRODUCER_ID_BLOCK_SIZE (1000): a broker asks the controller for a block
// (AllocateProducerIds), the controller commits a ProducerIdsRecord { brokerId, brokerEpoch, nextProducerId } to
// its metadata log, and only then is the block handed to the broker, which serves ids from it in memory and asks
// for the next block when 90% of the current one is used (RPCProducerIdManager, ProducerIdControlManager). Eddy
// does the same with a file in place of the metadata log:
//
//   `<dataDir>/producer-ids.json`, rewritten whole (write `.tmp`, fsync, rename, fsync the directory):
//     { "version": 1, "nextProducerId": "4000" }
//   nextProducerId (a decimal string: ids are int64) is the first id of the next block to allocate; every id
//   below it may have been handed out. The first block is 0–999, as in Kafka. A missing file means no block was
//   ever allocated. A reader that finds another version refuses to start (BrokerError METADATA_VERSION), and an
//   unreadable file is BrokerError METADATA_CORRUPT: guessing could reuse ids.
//
// Allocation order, which makes reuse impossible:
//
//   step                                                     a crash here means
//   1 compute the block [next, next + 1000)                  nothing was persisted or handed out
//   2 persist nextProducerId = next + 1000                   the write is atomic: old or new value
//   3 only now serve ids from the block                      a restart starts at next + 1000: the rest of the
//                                                            block is skipped, never reused (as in Kafka)
//
// Unlike Kafka's broker, which answers COORDINATOR_LOAD_IN_PROGRESS while a block is on its way from the
// controller, a request that finds the block used up waits for the local write (a few milliseconds). A failed
// write is logged and answered COORDINATOR_LOAD_IN_PROGRESS (retriable); the next request tries again. When the
// next block would pass 2^63 - 1, allocation fails as in Kafka (UNKNOWN_SERVER_ERROR).
import path from 'node:path';
import type { Logger } from 'pino';
import { BrokerError, KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { readJsonFile, writeFileAtomically } from './metadata-fs.js';

export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** Share of a block used when the next one is prefetched (Kafka's ProducerIdManager.PidPrefetchThreshold). */
const PREFETCH_THRESHOLD = 0.9;
export const PRODUCER_IDS_FILE = 'producer-ids.json';
const FORMAT_VERSION = 1;
const INT64_MAX = 0x7fffffffffffffffn;

interface Block {
  /** Next id to hand out. */
  next: bigint;
  /** First id after the block. */
  end: bigint;
}

export interface ProducerIdManagerOptions {
  dataDir: string;
  logger: Logger;
  /** Replaces the file durably (injectable so tests can fail or stall it); default writeFileAtomically. */
  writeFile?: (file: string, contents: string) => Promise<void>;
  /** Ids per block; Kafka's 1000 unless a test needs a small one. */
  blockSize?: number;
  /**
   * Cluster mode: blocks come from the cluster metadata (ClusterMetadata.allocateProducerIdBlock, a CAS on the
   * cluster's ProducerIdsRecord, so two brokers never get the same ids) instead of the local file.
   */
  allocateBlock?: () => Promise<{ firstProducerId: bigint; size: number }>;
}

export class ProducerIdManager {
  private readonly file: string;
  private readonly logger: Logger;
  private readonly writeFile: (file: string, contents: string) => Promise<void>;
  private readonly blockSize: bigint;
  /** The first id of the next block to persist (the persisted nextProducerId, or what it will be). */
  private nextBlockStart: bigint;
  private current: Block | undefined;
  private prefetched: Block | undefined;
  private allocating: Promise<Block> | undefined;
  private readonly allocateBlock: ProducerIdManagerOptions['allocateBlock'];

  private constructor(options: ProducerIdManagerOptions, nextBlockStart: bigint) {
    this.allocateBlock = options.allocateBlock;
    this.file = path.join(options.dataDir, PRODUCER_IDS_FILE);
    this.logger = options.logger;
    this.writeFile = options.writeFile ?? writeFileAtomically;
    this.blockSize = BigInt(options.blockSize ?? PRODUCER_ID_BLOCK_SIZE);
    this.nextBlockStart = nextBlockStart;
  }

  /** Reads the persisted next block start; no block is allocated until the first id is asked for. */
  static async open(options: ProducerIdManagerOptions): Promise<ProducerIdManager> {
    if (options.allocateBlock !== undefined) return new ProducerIdManager(options, 0n);
    const file = path.join(options.dataDir, PRODUCER_IDS_FILE);
    const persisted = await readJsonFile(file);
    let next = 0n;
    if (persisted !== undefined) {
      const doc = persisted as { version?: unknown; nextProducerId?: unknown };
      if (doc.version !== FORMAT_VERSION) {
        throw new BrokerError('METADATA_VERSION', `${file}: unsupported format version ${String(doc.version)}`);
      }
      if (typeof doc.nextProducerId !== 'string' || !/^\d{1,19}$/.test(doc.nextProducerId) || BigInt(doc.nextProducerId) > INT64_MAX) {
        throw new BrokerError('METADATA_CORRUPT', `${file}: nextProducerId ${JSON.stringify(doc.nextProducerId)} is not an int64`);
      }
      next = BigInt(doc.nextProducerId);
    }
    return new ProducerIdManager(options, next);
  }

  /** The first id of the next block to allocate (tests, tools). */
  get nextProducerIdBlockStart(): bigint {
    return this.nextBlockStart;
  }

  /**
   * A producer id never handed out before (Kafka's ProducerIdManager.generateProducerId). Synchronous from the
   * current block (a resolved promise); waits for the block's write when a new block is needed. Throws
   * KafkaError: COORDINATOR_LOAD_IN_PROGRESS when the write failed, UNKNOWN_SERVER_ERROR when ids are exhausted.
   */
  async generateProducerId(): Promise<bigint> {
    for (;;) {
      const block = this.current;
      if (block !== undefined && block.next < block.end) {
        const id = block.next++;
        if (id === block.end - this.blockSize + this.prefetchAt()) this.prefetch();
        return id;
      }
      if (this.prefetched !== undefined) {
        this.current = this.prefetched;
        this.prefetched = undefined;
        continue;
      }
      this.current = await this.allocate();
      this.prefetched = undefined;
    }
  }

  private prefetchAt(): bigint {
    return BigInt(Math.floor(Number(this.blockSize) * PREFETCH_THRESHOLD));
  }

  /** Persists the next block in the background once 90% of the current one is used. */
  private prefetch(): void {
    if (this.prefetched !== undefined || this.allocating !== undefined) return;
    this.allocate().then(
      (block) => {
        if (this.current !== block) this.prefetched = block;
      },
      () => undefined, // logged by allocate(); the request that needs the block retries the write
    );
  }

  /** Steps 1–2 of the table above; one write at a time, shared by concurrent callers. */
  private allocate(): Promise<Block> {
    if (this.allocating !== undefined) return this.allocating;
    const start = this.nextBlockStart;
    const fromCluster = this.allocateBlock;
    const run = (async (): Promise<Block> => {
      if (fromCluster !== undefined) {
        try {
          const block = await fromCluster();
          return { next: block.firstProducerId, end: block.firstProducerId + BigInt(block.size) };
        } catch (err) {
          if (err instanceof KafkaError) throw err;
          this.logger.error({ err }, 'could not allocate a producer id block from the cluster metadata');
          throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'the next producer id block could not be allocated');
        }
      }
      if (start > INT64_MAX - this.blockSize) {
        throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'exhausted all producer ids: the next block would pass the int64 limit');
      }
      const end = start + this.blockSize;
      try {
        await this.writeFile(this.file, JSON.stringify({ version: FORMAT_VERSION, nextProducerId: end.toString() }) + '\n');
      } catch (err) {
        this.logger.error({ err, file: this.file }, 'could not persist the next producer id block');
        throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'the next producer id block could not be persisted');
      }
      this.nextBlockStart = end;
      this.logger.debug({ firstProducerId: start.toString(), nextProducerId: end.toString() }, 'allocated a producer id block');
      return { next: start, end };
    })();
    this.allocating = run;
    const clear = (): void => {
      if (this.allocating === run) this.allocating = undefined;
    };
    run.then(clear, clear);
    return run;
  }
}
