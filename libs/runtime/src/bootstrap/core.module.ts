import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { Logger } from 'pino';
import { HealthController } from '../health/health.controller';
import { ReadinessRegistry } from '../health/readiness.registry';
import { NatsService } from '../nats/nats.service';
import { ROOT_LOGGER, SERVICE_CONFIG, SERVICE_NAME } from '../tokens';

export interface CoreOptions {
  service: string;
  config: object;
  logger: Logger;
}

/** What every service gets: its name, validated config, root logger, NATS bus and health endpoints. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(opts: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger: opts.logger, autoLogging: false } })],
      controllers: [HealthController],
      providers: [
        { provide: SERVICE_NAME, useValue: opts.service },
        { provide: SERVICE_CONFIG, useValue: opts.config },
        { provide: ROOT_LOGGER, useValue: opts.logger },
        ReadinessRegistry,
        NatsService,
      ],
      exports: [SERVICE_NAME, SERVICE_CONFIG, ROOT_LOGGER, ReadinessRegistry, NatsService],
    };
  }
}
