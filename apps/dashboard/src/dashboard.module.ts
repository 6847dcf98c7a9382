import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { StreamRelay } from './live/stream-relay.service';
import { BasicAuthMiddleware } from './web/basic-auth.middleware';
import { DashboardController } from './web/dashboard.controller';
import { FleetQueries } from './web/fleet-queries.service';
import { StaticFiles } from './web/static-files';

@Module({
  controllers: [DashboardController],
  providers: [StreamRelay, FleetQueries, StaticFiles],
})
export class DashboardModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(BasicAuthMiddleware).forRoutes(DashboardController);
  }
}
