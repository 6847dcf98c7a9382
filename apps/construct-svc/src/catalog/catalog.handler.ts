import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { CatalogService } from './catalog.service';

@Injectable()
export class CatalogHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly catalog: CatalogService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = QueueGroups.construct;
    this.nats.bus.serve(Subjects.cmd.catalogList, async () => ({ modules: await this.catalog.list() }), { queue });
    this.nats.bus.serve(Subjects.cmd.catalogAdd, ({ env }) => this.catalog.add(env.body.metadata, env.body.files), { queue });
  }
}
