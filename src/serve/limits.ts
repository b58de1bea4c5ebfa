// Per-client limits of `kdbg serve` (issue 20, item 5): misses — requests for an id the cache does
// not hold, which may start a fetch or a forwarded request — are rate-limited per client address
// with a token bucket; hits are not limited (they are file reads).

export class MissRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    /** Sustained misses per minute per address; 0 turns the limit off. */
    private readonly perMinute: number,
    /** Misses an address may make at once before the rate applies. */
    private readonly burst: number = Math.max(1, perMinute),
  ) {}

  /** 0 when `addr` may make a miss now (the token is taken), else the seconds until it may. */
  take(addr: string): number {
    if (this.perMinute <= 0) return 0;
    const now = Date.now();
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(addr) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (this.buckets.size > 50_000) this.buckets.clear(); // bounded; a reset only forgives
    this.buckets.set(addr, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
  }
}
