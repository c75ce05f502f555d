// A bounded cache of open log files, so that a broker with 100,000 partitions fits in a normal fd limit.
//
// Kafka keeps every segment's .log, .index and .timeindex open (and mmap'd) for the life of the segment and asks
// operators for a high `ulimit -n`; it has no setting for this. Eddy opens files on demand instead: each log file
// is a `CachedFile` (a `LogFile` for its users) that holds a descriptor only while it is open in this cache, and
// the cache closes the least recently used idle files when more than `maxOpenFiles` are open.
//
//   event                                   what happens
//   an operation on a CachedFile            opens the file if it is closed (see "open" below), counts the operation
//                                           in flight (pinned: never closed under it), moves it to the LRU tail
//   an open while maxOpenFiles are open     closes an idle file first: the least recently used clean one, else the
//                                           least recently used with unsynced writes. A file with an operation in
//                                           flight is never closed: when every open file is busy, the open waits
//                                           until an operation ends (no deadlock: an operation holds its file only
//                                           for one system call and never opens another), so the cap is hard
//   open fails with EMFILE / ENFILE         closes up to EVICT_ON_EMFILE idle files and retries, at most
//                                           OPEN_RETRIES times, then fails (the partition goes offline and is retried)
//   close() of a CachedFile                 closes its descriptor (if open) and forgets it
//
// Reopening. A file created with 'w+' is reopened with 'r+' (never truncated again); 'r' stays 'r'.
//
// Durability. Closing a file with unsynced writes loses nothing: the owner (LogSegment) keeps its `dirty` state,
// and its next sync() reopens the file and fsyncs it. On Linux fsync(2) writes back every dirty page of the
// inode, whichever descriptor wrote it. The caveat is writeback errors: since Linux 4.13 an error is recorded in
// the inode's mapping (errseq) and reported to each descriptor open at the time; one that happens while no
// descriptor is open is still reported once, to the first fsync after it (4.16+), but an error seen and cleared by
// another opener would be missed. That is why clean files are evicted first, so a file with unsynced data is
// closed only when every open file has some.
//
// Hot path: a hit costs one counter, two pointer moves in the LRU list (an intrusive doubly-linked list, no
// allocation) and the async frame of the call; the cache never copies buffers.
import type { Logger } from 'pino';
import type { LogFile, LogFs } from './fs.js';

/** Files closed at once when the kernel refuses an open (EMFILE: our limit; ENFILE: the system's). */
const EVICT_ON_EMFILE = 16;
const OPEN_RETRIES = 3;
/** Used when the fd soft limit cannot be read (not Linux): a quarter of the common 1024. */
export const FALLBACK_MAX_OPEN_FILES = 256;
/** Fewer than this is not worth running with (each partition's active segment wants 1–3 while written). */
export const MIN_MAX_OPEN_FILES = 16;

/**
 * The default `log.max.open.files`: half of the process's soft RLIMIT_NOFILE, leaving the rest for sockets
 * and everything else the process opens. Reads /proc/self/limits (Linux); `FALLBACK_MAX_OPEN_FILES` elsewhere.
 */
export async function defaultMaxOpenFiles(fs: Pick<LogFs, 'readFile'>): Promise<number> {
  const soft = await softFdLimit(fs);
  return soft === undefined ? FALLBACK_MAX_OPEN_FILES : Math.max(MIN_MAX_OPEN_FILES, Math.floor(soft / 2));
}

/** The soft "Max open files" limit from /proc/self/limits, or undefined (not Linux, or "unlimited"). */
export async function softFdLimit(fs: Pick<LogFs, 'readFile'>): Promise<number | undefined> {
  const text = await fs.readFile('/proc/self/limits').then((b) => b.toString('utf8'), () => undefined);
  const m = text === undefined ? null : /^Max open files\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The kernel refused a descriptor: EMFILE (the process's limit) or ENFILE (the system's). */
export function isFdExhausted(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

export interface FileHandleCacheStats {
  open: number;
  maxOpenFiles: number;
  opens: number;
  evictions: number;
  /** Opens refused with EMFILE/ENFILE (then retried after evicting). */
  fdExhausted: number;
}

export class FileHandleCache {
  /** LRU list: head = least recently used. Only open files are linked. */
  private head: CachedFile | undefined;
  private tail: CachedFile | undefined;
  private openCount = 0;
  /** Opens under way: their slots are reserved (makeRoom) before the open system call. */
  private opening = 0;
  private opens = 0;
  private evictions = 0;
  private fdExhausted = 0;
  /** Opens waiting for a busy file to become idle (every open file had an operation in flight). */
  private readonly roomWaiters: Array<() => void> = [];

  constructor(
    readonly fs: LogFs,
    private maxOpen: number = FALLBACK_MAX_OPEN_FILES,
    private readonly logger?: Logger,
  ) {
    this.maxOpen = Math.max(1, maxOpen);
  }

  get maxOpenFiles(): number {
    return this.maxOpen;
  }

  /** Files open right now. */
  get openFiles(): number {
    return this.openCount;
  }

  stats(): FileHandleCacheStats {
    return { open: this.openCount, maxOpenFiles: this.maxOpen, opens: this.opens, evictions: this.evictions, fdExhausted: this.fdExhausted };
  }

  /**
   * A handle on an existing file, opened on first use with `flags` ('r' or 'r+'). Nothing is opened now.
   */
  file(path: string, flags: 'r' | 'r+'): CachedFile {
    return new CachedFile(this, path, flags);
  }

  /**
   * Creates (or truncates) `path` and returns it open, as the most recently used file; later reopens use 'r+'.
   * `keepOpen` false closes it at once (a file that is not about to be used).
   */
  async create(path: string, keepOpen = true): Promise<CachedFile> {
    const file = new CachedFile(this, path, 'r+');
    await this.makeRoom(file);
    let handle: LogFile;
    try {
      handle = await this.openWithRetry(path, 'w+');
    } catch (err) {
      this.opening--;
      this.wakeRoomWaiter();
      throw err;
    }
    this.opening--;
    if (!keepOpen) {
      await handle.close();
      this.wakeRoomWaiter();
      return file;
    }
    this.adopt(file, handle);
    return file;
  }

  /** Opens `file` (called by CachedFile when closed). */
  async open(file: CachedFile): Promise<LogFile> {
    await this.makeRoom(file);
    let handle: LogFile;
    try {
      handle = await this.openWithRetry(file.path, file.flags);
    } catch (err) {
      this.opening--;
      this.wakeRoomWaiter();
      throw err;
    }
    this.opening--;
    if (file.handle !== undefined || file.isClosed) {
      // Opened concurrently by another operation, or closed by its owner meanwhile: keep one descriptor.
      await handle.close();
      this.wakeRoomWaiter();
      if (file.isClosed) throw new Error(`${file.path} was closed`);
      return file.handle!;
    }
    this.adopt(file, handle);
    return handle;
  }

  private adopt(file: CachedFile, handle: LogFile): void {
    file.handle = handle;
    this.openCount++;
    this.opens++;
    this.link(file);
  }

  private async openWithRetry(path: string, flags: 'r' | 'r+' | 'w+'): Promise<LogFile> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fs.open(path, flags);
      } catch (err) {
        if (!isFdExhausted(err) || attempt >= OPEN_RETRIES) throw err;
        this.fdExhausted++;
        this.logger?.warn({ path, code: (err as NodeJS.ErrnoException).code, open: this.openCount }, 'out of file descriptors opening a log file; closing idle ones and retrying');
        let closed = 0;
        while (closed < EVICT_ON_EMFILE && (await this.evictOne())) closed++;
        if (closed === 0) await new Promise((resolve) => setTimeout(resolve, 10 * (attempt + 1)));
      }
    }
  }

  /**
   * Closes idle files until there is room for one more, waiting for a busy one to become idle when none is, then
   * reserves that slot (`opening`, released by the caller once its open has finished).
   */
  private async makeRoom(keep: CachedFile): Promise<void> {
    while (this.openCount + this.opening >= this.maxOpen) {
      if (await this.evictOne(keep)) continue;
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.opening++;
  }

  /** Called when a file's last in-flight operation ends, or a descriptor was closed. */
  wakeRoomWaiter(): void {
    this.roomWaiters.shift()?.();
  }

  get hasRoomWaiters(): boolean {
    return this.roomWaiters.length > 0;
  }

  /** Closes the least recently used idle file, preferring one without unsynced writes. False when none is idle. */
  private async evictOne(keep?: CachedFile): Promise<boolean> {
    let victim: CachedFile | undefined;
    let dirtyVictim: CachedFile | undefined;
    for (let f = this.head; f !== undefined; f = f.next) {
      if (f.inFlight > 0 || f === keep) continue;
      if (!f.unsynced) {
        victim = f;
        break;
      }
      dirtyVictim ??= f;
    }
    victim ??= dirtyVictim;
    if (victim === undefined) return false;
    this.evictions++;
    await this.release(victim);
    return true;
  }

  /** Closes `file`'s descriptor (keeping the CachedFile usable: the next operation reopens it). */
  async release(file: CachedFile): Promise<void> {
    const handle = file.handle;
    if (handle === undefined) return;
    file.handle = undefined;
    this.unlink(file);
    this.openCount--;
    try {
      await handle.close();
    } finally {
      this.wakeRoomWaiter();
    }
  }

  /** Closes every open descriptor (shutdown; the files stay usable and would reopen). */
  async closeAll(): Promise<void> {
    const open: CachedFile[] = [];
    for (let f = this.head; f !== undefined; f = f.next) open.push(f);
    await Promise.allSettled(open.map((f) => this.release(f)));
  }

  touch(file: CachedFile): void {
    if (this.tail === file) return;
    this.unlink(file);
    this.link(file);
  }

  private link(file: CachedFile): void {
    file.prev = this.tail;
    file.next = undefined;
    if (this.tail) this.tail.next = file;
    else this.head = file;
    this.tail = file;
  }

  private unlink(file: CachedFile): void {
    if (file.prev) file.prev.next = file.next;
    else if (this.head === file) this.head = file.next;
    if (file.next) file.next.prev = file.prev;
    else if (this.tail === file) this.tail = file.prev;
    file.prev = undefined;
    file.next = undefined;
  }
}

/** One log file behind the cache: a `LogFile` that is open only while the cache keeps it open. */
export class CachedFile implements LogFile {
  /** The descriptor while open (owned by the cache). */
  handle: LogFile | undefined;
  /** Operations running on it: it is not closed while any is. */
  inFlight = 0;
  /** Written since the last sync through this handle (eviction prefers files without). */
  unsynced = false;
  prev: CachedFile | undefined;
  next: CachedFile | undefined;
  private closed = false;

  constructor(
    private readonly cache: FileHandleCache,
    readonly path: string,
    readonly flags: 'r' | 'r+',
  ) {}

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async acquire(): Promise<LogFile> {
    if (this.closed) throw new Error(`${this.path} is closed`);
    const handle = this.handle ?? (await this.cache.open(this));
    this.inFlight++;
    this.cache.touch(this);
    return handle;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    const handle = this.handle !== undefined && !this.closed ? this.pin(this.handle) : await this.acquire();
    try {
      return await handle.read(buffer, offset, length, position);
    } finally {
      this.done();
    }
  }

  async writev(buffers: Buffer[], position: number): Promise<number> {
    const handle = this.handle !== undefined && !this.closed ? this.pin(this.handle) : await this.acquire();
    this.unsynced = true;
    try {
      return await handle.writev(buffers, position);
    } finally {
      this.done();
    }
  }

  /** fsync; reopens a file closed by the cache (fsync of any descriptor writes back the inode's dirty pages). */
  async sync(): Promise<void> {
    const handle = await this.acquire();
    const wasUnsynced = this.unsynced;
    this.unsynced = false;
    try {
      await handle.sync();
    } catch (err) {
      this.unsynced = wasUnsynced;
      throw err;
    } finally {
      this.done();
    }
  }

  async truncate(length: number): Promise<void> {
    const handle = await this.acquire();
    this.unsynced = true;
    try {
      await handle.truncate(length);
    } finally {
      this.done();
    }
  }

  async size(): Promise<number> {
    const handle = await this.acquire();
    try {
      return await handle.size();
    } finally {
      this.done();
    }
  }

  /** Closes the descriptor if open and makes this handle unusable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cache.release(this);
  }

  /** Closes the descriptor if open, keeping the handle usable (the next operation reopens the file). */
  release(): Promise<void> {
    return this.inFlight > 0 ? Promise.resolve() : this.cache.release(this);
  }

  private done(): void {
    if (--this.inFlight === 0 && this.cache.hasRoomWaiters) this.cache.wakeRoomWaiter();
  }

  private pin(handle: LogFile): LogFile {
    this.inFlight++;
    this.cache.touch(this);
    return handle;
  }
}
