import { Module } from '@nestjs/common';
import { CommandIntakeService } from '@nco/delivery';
import { RevokeCommandsHandler } from './revoke-commands.handler';
import { RevokeCommandsService } from './revoke-commands.service';
import { RevokeDispatchService } from './revoke-dispatch.service';

@Module({
  providers: [CommandIntakeService, RevokeCommandsService, RevokeDispatchService, RevokeCommandsHandler],
})
export class RevokeModule {}
