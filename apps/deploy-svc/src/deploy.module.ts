import { Module } from '@nestjs/common';
import { CommandIntakeService } from '@nco/delivery';
import { DeployCommandsHandler } from './commands/deploy-commands.handler';
import { DeployCommandsService } from './commands/deploy-commands.service';
import { DeployDispatchService } from './dispatch/deploy-dispatch.service';
import { InverseModule } from './inverse/inverse.module';
import { DeviceRepository } from '@nco/cib';

@Module({
  imports: [InverseModule],
  providers: [CommandIntakeService, DeployCommandsService, DeployDispatchService, DeployCommandsHandler, DeviceRepository],
})
export class DeployModule {}
