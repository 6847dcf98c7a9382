import { Injectable } from '@nestjs/common';
import { BuildRepository } from '@nco/cib';
import { BuildsListBody } from '@nco/events';
import { z } from 'zod';
import { BuildQueueRepository } from '../queue/build-queue.repository';

/** `nco builds`: built modules, build errors (with the compiler's output) and the queue's state. */
@Injectable()
export class BuildsQueryService {
  constructor(
    private readonly builds: BuildRepository,
    private readonly queue: BuildQueueRepository,
  ) {}

  async list(f: z.infer<typeof BuildsListBody>) {
    const [built, errors, queue, failedJobs] = await Promise.all([
      this.builds.listBuilt(f),
      this.builds.listErrors(f),
      this.queue.counts(),
      this.queue.failedJobs(),
    ]);
    return {
      builds: built.map((b) => ({ ...b, builtAt: b.builtAt.toISOString() })),
      errors: errors.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })),
      queue,
      failedJobs,
    };
  }
}
