import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HostRepository } from '@nco/cib';
import { HOSTS_PAGE_SIZE, QueueGroups, Subjects } from '@nco/events';
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
        // One page at most per reply; the caller asks again from nextAfterHostId.
        const page = Math.min(env.body.limit, HOSTS_PAGE_SIZE);
        const { hosts, total } = await this.hosts.list({ ...env.body, limit: page });
        const more = hosts.length === page && env.body.limit > page;
        return {
          total,
          ...(more ? { nextAfterHostId: hosts[hosts.length - 1].hostId } : {}),
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
