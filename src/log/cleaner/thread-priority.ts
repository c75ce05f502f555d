// The log cleaner's worker thread asks the OS for a low CPU priority: compaction is background work, and on a
// machine with few cores it should not delay the event loop and the I/O threads that serve requests.
//
// Two levels, both Linux only (elsewhere the thread keeps the process's priority):
// - The nice value (`--log-cleaner-thread-nice`, 10 by default): under contention the request path's threads get
//   the cores first and the cleaner about a tenth of a core's share, so compaction slows down on a saturated
//   broker but keeps going, as Kafka's does.
// - SCHED_IDLE (opt-in, `--log-cleaner-thread-sched-idle`): the thread runs when a core has nothing else to do. The
//   kernel preempts a SCHED_IDLE thread as soon as a normal one wakes on its core. With a nice value only, under
//   Linux 6.6+'s EEVDF scheduler a woken request thread can wait out the cleaner's time slice. Measured
//   (BENCHMARKS.md, "Log cleaner"), e2e p99 while compacting 1 GB on 2 cores relative to idle:
//     SCHED_IDLE  median 2.36x (0.64-7.9, 9 runs)
//     nice 10     3.15x (1 run on the same quiet machine)
//   The cost is why it is not the default: the policy's weight is 3 against a normal thread's 1024, so on a broker
//   whose cores are never idle compaction all but stops (max.compaction.lag.ms cannot be kept, and
//   __consumer_offsets grows).
//
// Node has no API for scheduling policies, so SCHED_IDLE is set by util-linux's `chrt --idle -p 0 TID`. chrt is
// present on every Debian and most Linux installs; without it the nice value applies and the broker says so at
// warn. Both are set on the thread's own id (/proc/thread-self): Linux schedules threads individually, so only the
// cleaner's thread changes. Lowering a priority needs no privilege; raising it back does, so a worker never goes
// back up: the cleaner starts a new one instead (cleaner-compute.ts). Nothing here may fail the worker's start:
// every failure is reported in the result.
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

export interface CleanerThreadPriority {
  /** setpriority() nice value, 0 (the broker's own) to 19. */
  nice: number;
  /** Run under SCHED_IDLE. */
  schedIdle: boolean;
}

/** What the thread got: read back from /proc, so a refused or missing step shows. */
export interface AppliedThreadPriority {
  /** The thread's nice value now, undefined off Linux. */
  nice?: number;
  schedIdle: boolean;
  /** Why SCHED_IDLE was asked for and not had. */
  schedIdleFailure?: string;
}

/** The command that sets SCHED_IDLE; tests name a missing or invalid one. */
export const DEFAULT_CHRT_COMMAND = 'chrt';

/** Linux's SCHED_IDLE policy number (sched.h), as /proc/TID/stat field 41 shows it. */
const SCHED_IDLE = 5;
const CHRT_TIMEOUT_MS = 5_000;

export function samePriority(a: CleanerThreadPriority, b: CleanerThreadPriority): boolean {
  return a.nice === b.nice && a.schedIdle === b.schedIdle;
}

function currentThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    // The process's main thread: never lowered (this module is for the worker).
    return Number.isInteger(tid) && tid > 0 && tid !== process.pid ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * /proc's nice (field 19) and policy (field 41) of a thread of this process (`self`: the calling thread); the
 * fields after the parenthesised name start at 3.
 */
export function threadScheduling(tid: number | 'self'): { nice: number; policy: number } | undefined {
  try {
    const stat = readFileSync(tid === 'self' ? '/proc/thread-self/stat' : `/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
  } catch {
    return undefined;
  }
}

/** Runs chrt; resolves with why it failed, never rejects (spawn can also throw, e.g. ENOMEM or a bad command). */
function chrtIdle(command: string, tid: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(command, ['--idle', '-p', '0', String(tid)], { timeout: CHRT_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (err === null) resolve(undefined);
        else if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve(`${command} (util-linux) is not installed`);
        else if (err.killed) resolve(`${command} did not finish within ${CHRT_TIMEOUT_MS / 1000} s`);
        else resolve(`${command} failed: ${stderr.trim() || err.message}`);
      });
    } catch (err) {
      resolve(`${command} could not be started: ${(err as Error).message}`);
    }
  });
}

/** Lowers the calling thread's priority as asked; the cleaner's worker calls it once, as it starts. Never throws. */
export async function lowerCurrentThreadPriority(wanted: CleanerThreadPriority, chrtCommand = DEFAULT_CHRT_COMMAND): Promise<AppliedThreadPriority> {
  const tid = process.platform === 'linux' ? currentThreadId() : undefined;
  if (tid === undefined) {
    const why = process.platform === 'linux' ? 'not a worker thread, or no /proc/thread-self' : `not Linux (${process.platform})`;
    return { schedIdle: false, ...(wanted.schedIdle ? { schedIdleFailure: why } : {}) };
  }
  try {
    os.setPriority(tid, wanted.nice);
  } catch {
    // Refused (a raise without privilege): the thread keeps what it has, read back below.
  }
  const failure = wanted.schedIdle ? await chrtIdle(chrtCommand, tid) : undefined;
  const now = threadScheduling('self');
  const schedIdle = now?.policy === SCHED_IDLE;
  const schedIdleFailure = wanted.schedIdle && !schedIdle ? (failure ?? 'the policy did not change') : undefined;
  return { nice: now?.nice, schedIdle, ...(schedIdleFailure !== undefined ? { schedIdleFailure } : {}) };
}
