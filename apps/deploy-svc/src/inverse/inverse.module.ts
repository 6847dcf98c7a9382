import { Module } from '@nestjs/common';
import { InverseCommandsService } from './inverse-commands.service';
import { InverseKeepingService } from './inverse-keeping.service';

/** Inverse modules to middleboxes, kept in step with deployments. */
@Module({ providers: [InverseCommandsService, InverseKeepingService] })
export class InverseModule {}
