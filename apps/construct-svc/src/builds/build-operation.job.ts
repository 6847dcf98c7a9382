import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { BuildQueueRepository } from '../queue/build-queue.repository';
import { BuildRunnerService } from './build-runner.service';

/** The `build-operation` job: registered once, run by every replica's worker. */
@Injectable()
export class BuildOperationJob implements OnApplicationBootstrap {
  constructor(
    private readonly queue: BuildQueueRepository,
    private readonly runner: BuildRunnerService,
  ) {}

  onApplicationBootstrap(): void {
    this.queue.startWorker((job) => this.runner.run(job.data.operationId, (p) => job.updateProgress(p)));
  }
}
