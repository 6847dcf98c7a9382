import { Module } from '@nestjs/common';
import { KeysHandler } from './keys.handler';
import { KeysService } from './keys.service';

@Module({ providers: [KeysService, KeysHandler], exports: [KeysService] })
export class KeysModule {}
