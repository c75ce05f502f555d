// One kind of per-member timer of the consumer-group coordinator (session, rebalance, and the classic members'
// join and sync timeouts), keyed by group and member id. Timers are unref'd: they never keep the process alive.
export class MemberTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  private static key(groupId: string, memberId: string): string {
    return `${groupId}\u0000${memberId}`;
  }

  has(groupId: string, memberId: string): boolean {
    return this.timers.has(MemberTimers.key(groupId, memberId));
  }

  /** Arms the timer, replacing one already armed. */
  schedule(groupId: string, memberId: string, timeoutMs: number, onExpiry: () => void): void {
    this.cancel(groupId, memberId);
    this.arm(groupId, memberId, timeoutMs, onExpiry);
  }

  /** Arms the timer unless one is armed (Kafka's timer.scheduleIfAbsent). */
  scheduleIfAbsent(groupId: string, memberId: string, timeoutMs: number, onExpiry: () => void): void {
    if (!this.has(groupId, memberId)) this.arm(groupId, memberId, timeoutMs, onExpiry);
  }

  /** Restarts an armed timer with its timeout, or arms a new one. */
  refreshOrSchedule(groupId: string, memberId: string, timeoutMs: number, onExpiry: () => void): void {
    const existing = this.timers.get(MemberTimers.key(groupId, memberId));
    if (existing !== undefined) existing.refresh();
    else this.arm(groupId, memberId, timeoutMs, onExpiry);
  }

  cancel(groupId: string, memberId: string): void {
    const key = MemberTimers.key(groupId, memberId);
    const t = this.timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(key);
  }

  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private arm(groupId: string, memberId: string, timeoutMs: number, onExpiry: () => void): void {
    const key = MemberTimers.key(groupId, memberId);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        onExpiry();
      },
      Math.max(0, timeoutMs),
    );
    timer.unref();
    this.timers.set(key, timer);
  }
}
