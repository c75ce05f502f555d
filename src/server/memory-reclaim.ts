// Gives memory back to the OS after connections that held a lot of it close.
//
// Request frames and Fetch answers are Buffers outside V8's heap. When a connection holding hundreds of MB of them
// closes (a non-reading peer's unwritten Fetch answer, a half-received large frame), they are garbage, but V8
// collects them only when something allocates enough to trigger a major GC. A broker that goes idle after the abuse
// would keep that RSS forever (measured: 400 MB kept with 6 dropped 55 MiB answers; 73 MB after one GC).
//
// So connections report the bytes they dropped on close; once DROPPED_BYTES_THRESHOLD have been dropped, one full
// GC runs RECLAIM_DELAY_MS later (at most once per RECLAIM_MIN_INTERVAL_MS). Node exposes no GC call without
// --expose-gc; setting that flag at runtime and taking `gc` from a new VM context is the documented way to get it
// (v8.setFlagsFromString). If that fails, nothing is reclaimed early and the memory goes at the next natural GC.
import type v8 from 'node:v8';
import { lazyBuiltin } from '../lazy-builtin.js';
import vm from 'node:vm';
import type { Logger } from 'pino';

export const DROPPED_BYTES_THRESHOLD = 64 * 1024 * 1024;
export const RECLAIM_DELAY_MS = 1000;
export const RECLAIM_MIN_INTERVAL_MS = 10_000;

let gcFunction: (() => void) | null | undefined;

function loadGc(): (() => void) | null {
  if (gcFunction === undefined) {
    try {
      lazyBuiltin<typeof v8>('node:v8').setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as unknown;
      gcFunction = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction;
}

export class MemoryReclaimer {
  private droppedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastRunMs = -Infinity;
  /** Full GCs run so far (for stats). */
  runs = 0;

  constructor(private readonly logger: Logger) {}

  noteDropped(bytes: number): void {
    this.droppedBytes += bytes;
    if (this.droppedBytes >= DROPPED_BYTES_THRESHOLD && this.timer === null) {
      const delayMs = Math.max(RECLAIM_DELAY_MS, this.lastRunMs + RECLAIM_MIN_INTERVAL_MS - Date.now());
      this.timer = setTimeout(this.run, delayMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly run = (): void => {
    this.timer = null;
    const gc = loadGc();
    const droppedBytes = this.droppedBytes;
    this.droppedBytes = 0;
    this.lastRunMs = Date.now();
    if (gc === null) return;
    this.runs++;
    gc();
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ droppedBytes }, 'reclaimed memory dropped with closed connections');
  };
}
