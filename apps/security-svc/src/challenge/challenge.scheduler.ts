import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { SecurityConfig } from '../settings';
import { ChallengeService } from './challenge.service';

/** Runs challenge sweeps every CHALLENGE_SWEEP_MS; a full batch sweeps again at once (a backlog drains fast). */
@Injectable()
export class ChallengeScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    private readonly challenges: ChallengeService,
    @Inject(SERVICE_CONFIG) private readonly config: SecurityConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'challenge' });
  }

  onApplicationBootstrap(): void {
    if (this.config.CHALLENGE_SWEEP_MS > 0) this.schedule(this.config.CHALLENGE_SWEEP_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    let again = this.config.CHALLENGE_SWEEP_MS;
    try {
      const s = await this.challenges.sweep();
      if (s.claimed >= this.config.CHALLENGE_BATCH) again = 0;
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'challenge sweep failed; trying again next interval');
    }
    this.schedule(again);
  }
}
