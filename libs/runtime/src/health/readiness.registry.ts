import { Injectable } from '@nestjs/common';

export type ReadinessCheck = () => Promise<void>;

/** Dependencies register how to check that they are usable; the readiness probe runs them all. */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async run(timeoutMs = 2000): Promise<{ ok: boolean; checks: Record<string, string> }> {
    const results: Record<string, string> = {};
    if (this.shuttingDown) return { ok: false, checks: { shutdown: 'shutting down' } };
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
          ]);
          results[name] = 'up';
        } catch (e) {
          results[name] = `down: ${(e as Error).message}`;
        }
      }),
    );
    return { ok: Object.values(results).every((r) => r === 'up'), checks: results };
  }
}
