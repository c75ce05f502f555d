// One broker per data directory. Kafka holds an OS file lock on `<log.dir>/.lock`; Node has no flock, so the
// lock here is the file `<dataDir>/.lock` holding the owner's pid, created exclusively:
//
// | `.lock` on start                                  | outcome                                          |
// |---------------------------------------------------|--------------------------------------------------|
// | absent                                            | create it with our pid                           |
// | names a live process other than us                | refuse: BrokerError DATA_DIR_LOCKED              |
// | names this process and a broker here holds it     | refuse: BrokerError DATA_DIR_LOCKED              |
// | names a dead process (kill -9, crash) or garbage  | stale: replace it                                |
// | created, but the pid cannot be written (ENOSPC)   | held, empty (a full disk must not stop a start)  |
//
// close() removes the file. A recycled pid can make a stale lock look live; the message names the file to delete.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BrokerError } from '../errors.js';

const heldInThisProcess = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLock {
  private constructor(private readonly file: string) {}

  static async acquire(dataDir: string): Promise<DataDirLock> {
    const file = path.join(path.resolve(dataDir), '.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      let handle: fs.FileHandle | undefined;
      try {
        handle = await fs.open(file, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (handle !== undefined) {
        try {
          await handle.writeFile(`${process.pid}\n`);
        } catch (err) {
          // A full disk: the file exists, so the lock is ours; it is only empty (a later start takes an empty
          // lock as stale). A broker must be able to start on a full disk to serve what it holds.
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC' && (err as NodeJS.ErrnoException).code !== 'EDQUOT') {
            await handle.close().catch(() => undefined);
            await fs.rm(file, { force: true });
            throw err;
          }
        }
        await handle.close().catch(() => undefined);
        heldInThisProcess.add(file);
        return new DataDirLock(file);
      }
      const owner = Number.parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
      const live = Number.isInteger(owner) && owner > 0 && (owner === process.pid ? heldInThisProcess.has(file) : isAlive(owner));
      if (live) {
        throw new BrokerError(
          'DATA_DIR_LOCKED',
          `Data directory ${dataDir} is in use by another broker (pid ${owner}); if that process is gone, delete ${file}`,
        );
      }
      await fs.rm(file, { force: true });
    }
    throw new BrokerError('DATA_DIR_LOCKED', `Could not lock ${file}`);
  }

  async release(): Promise<void> {
    heldInThisProcess.delete(this.file);
    await fs.rm(this.file, { force: true });
  }
}
