import { Module } from '@nestjs/common';
import { CommandIntakeService } from '../../deploy-svc/src/commands/command-intake.service';
import { RevokeCommandsHandler } from './revoke-commands.handler';
import { RevokeCommandsService } from './revoke-commands.service';
import { RevokeDispatchService } from './revoke-dispatch.service';

@Module({
  providers: [CommandIntakeService, RevokeCommandsService, RevokeDispatchService, RevokeCommandsHandler],
})
export class RevokeModule {}
