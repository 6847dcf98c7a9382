import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { BuildsQueryService } from './builds-query.service';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { BuildRequestService } from './build-request.service';

/** Operator commands of construct-svc: `nco build` and `nco builds`. */
@Injectable()
export class BuildsHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly requests: BuildRequestService,
    private readonly query: BuildsQueryService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = QueueGroups.construct;
    this.nats.bus.serve(Subjects.cmd.build, ({ env }) => this.requests.request(env.body), { queue });
    this.nats.bus.serve(Subjects.cmd.buildsList, ({ env }) => this.query.list(env.body), { queue });
  }
}
