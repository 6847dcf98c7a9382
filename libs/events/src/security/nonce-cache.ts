/**
 * Nonces of accepted commands, each kept until its command's window closes. A command outside
 * the window is refused anyway, so a nonce can be forgotten then; the cache never holds more
 * than `max` (sized for the command rate × window). When full of live nonces it refuses rather
 * than forget one early, since forgetting would let that command be replayed.
 */
export class NonceCache {
  private readonly until = new Map<string, number>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.until.size;
  }

  add(nonce: string, expiresAt: number, now: number): 'added' | 'seen' | 'full' {
    const known = this.until.get(nonce);
    if (known !== undefined && known >= now) return 'seen';
    if (this.until.size >= this.max) this.prune(now);
    if (this.until.size >= this.max) return 'full';
    this.until.set(nonce, expiresAt);
    return 'added';
  }

  private prune(now: number): void {
    for (const [nonce, at] of this.until) if (at < now) this.until.delete(nonce);
  }
}
