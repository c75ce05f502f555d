// The only node:fs user in src/log. Everything else goes through `LogFs`, so tests can count fsyncs and inject
// faults (short writes, EIO, torn files) by wrapping `nodeLogFs`. The one synchronous call, readFullySync, is for
// the log cleaner's worker thread, never the event loop.
import { promises as fsp, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface LogFile {
  /** Positional read; returns the number of bytes read (0 at end of file). */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Positional gather write; returns the number of bytes written (may be short). */
  writev(buffers: Buffer[], position: number): Promise<number>;
  /** fsync(2): data and metadata. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
  /**
   * The OS descriptor while open (nodeLogFs's files have one; a wrapped file may not): lets the log cleaner's worker
   * thread read a segment itself (readFullySync), the descriptor being shared by the process's threads.
   */
  readonly descriptor?: number;
}

export interface LogFs {
  /** flags as for fs.open: 'r' read-only, 'r+' read-write existing, 'w+' create/truncate read-write. */
  open(path: string, flags: 'r' | 'r+' | 'w+'): Promise<LogFile>;
  readFile(path: string): Promise<Buffer>;
  /** Writes `data` to `path` durably and atomically: temp file, fsync, rename, fsync of the directory. */
  writeFileAtomic(path: string, data: Buffer): Promise<void>;
  /** Creates (or truncates) an empty file and makes its directory entry durable. */
  touch(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Size of a file, or undefined if it does not exist. */
  fileSize(path: string): Promise<number | undefined>;
  readdir(path: string): Promise<Array<{ name: string; isDirectory: boolean }>>;
  mkdir(path: string): Promise<void>;
  /** Creates one directory (its parent must exist): true when created, false when it already existed. */
  createDir(path: string): Promise<boolean>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  unlink(path: string): Promise<void>;
  /** Removes a directory tree; a missing one is not an error. */
  rmdir(path: string): Promise<void>;
  /** fsync of a directory, so creates, renames and unlinks inside it survive a crash. */
  syncDir(path: string): Promise<void>;
}

class NodeLogFile implements LogFile {
  constructor(private readonly fh: FileHandle) {}

  get descriptor(): number {
    return this.fh.fd;
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.fh.read(buffer, offset, length, position);
    return bytesRead;
  }

  async writev(buffers: Buffer[], position: number): Promise<number> {
    const { bytesWritten } = await this.fh.writev(buffers, position);
    return bytesWritten;
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/**
 * Reads exactly `length` bytes at `position` of descriptor `fd` into the start of `buffer` and returns them; throws
 * on a short read (the file shrank). Synchronous: the log cleaner's worker thread only (cleaner-worker.ts).
 */
export function readFullySync(fd: number, buffer: Buffer, length: number, position: number): Buffer {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n <= 0) throw new Error(`short read at position ${position + done}`);
    done += n;
  }
  return buffer.subarray(0, length);
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function syncDir(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

export const nodeLogFs: LogFs = {
  async open(path, flags) {
    return new NodeLogFile(await fsp.open(path, flags));
  },
  readFile(path) {
    return fsp.readFile(path);
  },
  async writeFileAtomic(path, data) {
    const tmp = `${path}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
    await syncDir(dirOf(path));
  },
  async touch(path) {
    const fh = await fsp.open(path, 'w');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await syncDir(dirOf(path));
  },
  async exists(path) {
    try {
      await fsp.stat(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  },
  async fileSize(path) {
    try {
      return (await fsp.stat(path)).size;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  },
  async readdir(path) {
    const entries = await fsp.readdir(path, { withFileTypes: true });
    return entries.map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
  },
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  async createDir(path) {
    try {
      await fsp.mkdir(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  },
  rename(from, to) {
    return fsp.rename(from, to);
  },
  async unlink(path) {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
  rmdir(path) {
    return fsp.rm(path, { recursive: true, force: true });
  },
  syncDir,
};
