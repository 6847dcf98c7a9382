import { DynamicModule, Global, Inject, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ReadinessRegistry, ROOT_LOGGER, SERVICE_CONFIG, SERVICE_NAME } from '@nco/runtime';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { cibDataSourceOptions, migrateCib } from './data-source';
import { AuditRepository } from './repositories/audit.repository';
import { HostRepository } from './repositories/host.repository';
import { ReportRepository } from './repositories/report.repository';
import { BuildRepository } from './repositories/build.repository';
import { CatalogRepository } from './repositories/catalog.repository';
import { KeyRepository } from './repositories/key.repository';
import { OperationRepository } from './repositories/operation.repository';
import { SymversRepository } from './repositories/symvers.repository';
import { LifecycleRepository } from './repositories/lifecycle.repository';
import { DeviceWorkRepository } from './repositories/device-work.repository';
import { MiddleboxRepository } from './repositories/middlebox.repository';

interface DbConfig {
  DATABASE_URL: string;
  DATABASE_POOL_SIZE: number;
  MIGRATE_ON_START: boolean;
}

const REPOSITORIES = [
  HostRepository,
  ReportRepository,
  AuditRepository,
  OperationRepository,
  BuildRepository,
  CatalogRepository,
  KeyRepository,
  SymversRepository,
  LifecycleRepository,
  DeviceWorkRepository,
  MiddleboxRepository,
];

@Injectable()
class CibLifecycle implements OnModuleInit {
  constructor(
    private readonly ds: DataSource,
    private readonly readiness: ReadinessRegistry,
    @Inject(SERVICE_CONFIG) private readonly config: DbConfig,
    @Inject(ROOT_LOGGER) private readonly log: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.MIGRATE_ON_START) {
      const applied = await migrateCib(this.ds);
      if (applied.length) this.log.info({ applied }, 'applied CIB migrations');
    }
    this.readiness.register('database', async () => {
      await this.ds.query('SELECT 1');
    });
  }
}

/** The CIB for a service: a pooled DataSource, migrations on start when configured, repositories. */
@Global()
@Module({})
export class CibModule {
  static forRoot(): DynamicModule {
    return {
      module: CibModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [SERVICE_CONFIG, SERVICE_NAME],
          useFactory: (config: DbConfig, service: string) => ({
            ...cibDataSourceOptions({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE, applicationName: service }),
            retryAttempts: 1000,
            retryDelay: 1000,
          }),
        }),
      ],
      providers: [...REPOSITORIES, CibLifecycle],
      exports: REPOSITORIES,
    };
  }
}
