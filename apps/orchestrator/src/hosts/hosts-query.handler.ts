import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HostRepository } from '@nco/cib';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';

/** `nco.cmd.hosts.list`: the host registry for operators (the CLI never reads the database). */
@Injectable()
export class HostsQueryHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly hosts: HostRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.nats.bus.serve(
      Subjects.cmd.hostsList,
      async ({ env }) => {
        const { hosts, total } = await this.hosts.list(env.body);
        return {
          total,
          hosts: hosts.map((h) => ({
            ...h,
            lastSeenAt: h.lastSeenAt?.toISOString() ?? null,
            lastReportAt: h.lastReportAt?.toISOString() ?? null,
          })),
        };
      },
      { queue: QueueGroups.orchestrator },
    );
  }
}
