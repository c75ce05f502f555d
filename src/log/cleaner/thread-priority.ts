// The log cleaner's worker thread asks the OS for a low CPU priority: compaction is background work, and on a
// machine with few cores it must not delay the event loop and the I/O threads that serve requests.
//
// Two levels, both Linux only (elsewhere the thread keeps the process's priority):
// - SCHED_IDLE (default, `--log-cleaner-thread-sched-idle`): the thread runs when a core has nothing else to do. The
//   kernel's fair scheduler preempts a SCHED_IDLE thread as soon as a normal one wakes on its core; a nice value
//   only lowers the thread's share, and under the EEVDF scheduler (Linux 6.6+) a woken request thread could still
//   wait out the cleaner's time slice. Measured (BENCHMARKS.md, "Log cleaner"): e2e p99 while compacting 1 GB on 2
//   cores 1.2x of idle under SCHED_IDLE, 2.6-3.2x at nice 10. The cost: on a broker whose cores are never idle,
//   compaction waits for idle time (the policy's weight is 3 against a normal thread's 1024).
// - The nice value (`--log-cleaner-thread-nice`, 10 by default): what the thread runs at without SCHED_IDLE, and
//   also set under it (where SCHED_IDLE cannot be had, it is what applies).
//
// Node has no API for scheduling policies, so SCHED_IDLE is set by util-linux's `chrt --idle -p 0 TID` (present on
// every Debian and most Linux installs; without it the nice value applies and the broker says so at warn). Both
// are set on the thread's own id (/proc/thread-self): Linux schedules threads individually, so only the cleaner's
// thread changes. Lowering a priority needs no privilege; raising it back does, so a worker never goes back up: the
// cleaner starts a new one instead (cleaner-compute.ts).
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

/** /proc/TID/stat's nice (field 19) and policy (field 41); the fields after the parenthesised name start at 3. */
export function threadScheduling(tid: number): { nice: number; policy: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
  } catch {
    return undefined;
  }
}

function chrtIdle(tid: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('chrt', ['--idle', '-p', '0', String(tid)], { timeout: CHRT_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err === null) resolve(undefined);
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve('chrt (util-linux) is not installed');
      else resolve(`chrt failed: ${stderr.trim() || err.message}`);
    });
  });
}

/** Lowers the calling thread's priority as asked; the cleaner's worker calls it once, as it starts. */
export async function lowerCurrentThreadPriority(wanted: CleanerThreadPriority): Promise<AppliedThreadPriority> {
  const tid = currentThreadId();
  if (tid === undefined) return { schedIdle: false, ...(wanted.schedIdle ? { schedIdleFailure: 'not Linux, or not a worker thread' } : {}) };
  try {
    os.setPriority(tid, wanted.nice);
  } catch {
    // Refused (a raise without privilege): the thread keeps what it has, read back below.
  }
  const failure = wanted.schedIdle ? await chrtIdle(tid) : undefined;
  const now = threadScheduling(tid);
  const schedIdle = now?.policy === SCHED_IDLE;
  const schedIdleFailure = wanted.schedIdle && !schedIdle ? (failure ?? 'the policy did not change') : undefined;
  return { nice: now?.nice, schedIdle, ...(schedIdleFailure !== undefined ? { schedIdleFailure } : {}) };
}
