/**
 * Sign-in failures per client address in a sliding window: past the limit, sign-in answers 429 with Retry-After
 * until the oldest failure leaves the window. In memory, per console process: each process limits its own.
 */
export class SignInLimiter {
  private failures = new Map<string, number[]>();
  constructor(
    private max: number,
    private windowMs: number,
  ) {}

  private recent(ip: string, now: number): number[] {
    const list = (this.failures.get(ip) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length) this.failures.set(ip, list);
    else this.failures.delete(ip);
    return list;
  }

  /** Seconds to wait before trying again (0: go ahead). */
  retryAfter(ip: string, now = Date.now()): number {
    const list = this.recent(ip, now);
    return list.length < this.max ? 0 : Math.max(1, Math.ceil((list[0] + this.windowMs - now) / 1000));
  }

  failed(ip: string, now = Date.now()): void {
    this.failures.set(ip, [...this.recent(ip, now), now]);
    // Bounded: an address flood cannot grow the map without end.
    if (this.failures.size > 100_000) this.failures.delete(this.failures.keys().next().value!);
  }
}
