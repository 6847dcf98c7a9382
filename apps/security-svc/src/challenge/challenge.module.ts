import { Module } from '@nestjs/common';
import { DeviceRepository, SecurityRepository } from '@nco/cib';
import { KeysModule } from '../keys/keys.module';
import { ChallengeScheduler } from './challenge.scheduler';
import { ChallengeService } from './challenge.service';

@Module({ imports: [KeysModule], providers: [SecurityRepository, DeviceRepository, ChallengeService, ChallengeScheduler], exports: [ChallengeService] })
export class ChallengeModule {}
