import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { BuildQueueRepository } from '../queue/build-queue.repository';
import { SymversService } from '../symvers/symvers.service';
import { SymversPrefetchService } from '../symvers/symvers-prefetch.service';
import { ToolchainModule } from '../toolchain/toolchain.module';
import { BuildCatchupService } from './build-catchup.service';
import { BuildOperationJob } from './build-operation.job';
import { BuildRequestService } from './build-request.service';
import { BuildRunnerService } from './build-runner.service';
import { BuildsHandler } from './builds.handler';
import { BuildsQueryService } from './builds-query.service';

@Module({
  imports: [CatalogModule, ToolchainModule],
  providers: [
    BuildQueueRepository,
    SymversService,
    SymversPrefetchService,
    BuildRequestService,
    BuildRunnerService,
    BuildsQueryService,
    BuildOperationJob,
    BuildCatchupService,
    BuildsHandler,
  ],
})
export class BuildsModule {}
