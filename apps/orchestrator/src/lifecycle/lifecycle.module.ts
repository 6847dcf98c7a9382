import { Module } from '@nestjs/common';
import { DeployService } from './deploy.service';
import { LifecycleHandler } from './lifecycle.handler';
import { RotateService } from './rotate.service';

@Module({ providers: [DeployService, RotateService, LifecycleHandler] })
export class LifecycleModule {}
