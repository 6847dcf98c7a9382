import { Module } from '@nestjs/common';
import { OperationsQueryHandler } from './operations-query.handler';

@Module({ providers: [OperationsQueryHandler] })
export class OperationsModule {}
