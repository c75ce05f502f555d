// A real, small file system for the tests that need writes to fail with ENOSPC: a tmpfs mounted for the test file
// (mounting needs root, as CI runs) and a helper that fills it.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Mounts a `sizeMb` tmpfs before the file's tests and unmounts it after; `dir()` is its mount point. */
export function useSmallTmpfs(prefix: string, sizeMb = 8): { dir(): string } {
  let mountDir: string | undefined;
  let mounted = false;
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs and needs root (CI runs as root)');
    mountDir = mkdtempSync(path.join(os.tmpdir(), prefix));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', mountDir]);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', ['-l', mountDir!]);
    if (mountDir !== undefined) rmSync(mountDir, { recursive: true, force: true });
  });
  return {
    dir() {
      if (mountDir === undefined) throw new Error('the tmpfs is mounted in beforeAll');
      return mountDir;
    },
  };
}

/**
 * Writes `file` until the file system refuses more (ENOSPC): in 64 KiB chunks, then, with `toLastPage`, in 4 KiB
 * ones (tmpfs allocates pages), so no write that needs a new page can succeed.
 */
export function fillDisk(file: string, options: { toLastPage?: boolean } = {}): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of options.toLastPage === true ? [64 * 1024, 4096] : [64 * 1024]) {
      const chunk = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}
