/** Token buckets per client: `perSecond` sustained, `burstSeconds` worth of burst; a bounded map of clients. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burstSeconds: number,
    private readonly maxClients = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token of `client`; false when it has none left. */
  admit(client: string): boolean {
    const now = this.now();
    const burst = this.perSecond * this.burstSeconds;
    const bucket = this.buckets.get(client) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    const admitted = bucket.tokens >= 1;
    if (admitted) bucket.tokens -= 1;
    this.buckets.set(client, bucket);
    if (this.buckets.size > this.maxClients) this.forgetIdle(now, burst);
    return admitted;
  }

  /** Clients whose bucket has refilled carry no state worth keeping. */
  private forgetIdle(now: number, burst: number): void {
    for (const [client, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= burst) this.buckets.delete(client);
    }
  }
}
