import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DeviceRepository, DeviceRow } from '@nco/cib';
import { DeviceSummary, NcoError, QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { DeviceNatsAccess } from './device-nats-access';

const summary = ({ signKey: _s, encKey: _e, ...d }: DeviceRow): DeviceSummary => d;

/** `nco devices list|approve|revoke`: the operator's view and decisions on device identities. */
@Injectable()
export class DevicesHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly devices: DeviceRepository,
    private readonly natsAccess: DeviceNatsAccess,
  ) {}

  onApplicationBootstrap(): void {
    const bus = this.nats.bus;
    const queue = QueueGroups.orchestrator;
    bus.serve(Subjects.cmd.devicesList, async ({ env }) => {
      const r = await this.devices.list(env.body.state, env.body.limit);
      return { devices: r.devices.map(summary), total: r.total };
    }, { queue });
    bus.serve(Subjects.cmd.devicesApprove, async ({ env }) => ({ device: summary(await this.change(env.body.device, 'approved')) }), { queue });
    bus.serve(
      Subjects.cmd.devicesRevoke,
      async ({ env }) => {
        const device = await this.change(env.body.device, 'revoked');
        // The CIB is the list: a failed push is retried by the next revoke (or the same one again).
        await this.natsAccess.pushRevocations().catch((e: Error) => {
          throw new NcoError('unavailable', `device ${device.fingerprint} is revoked in the CIB, but its NATS access was not cut: ${e.message}; run the revoke again`);
        });
        return { device: summary(device) };
      },
      { queue },
    );
  }

  private async change(device: string, state: 'approved' | 'revoked'): Promise<DeviceRow> {
    const row = await this.devices.setState(device, state);
    if (!row) throw new NcoError('not_found', `no device with MAC or fingerprint ${device} (nco devices list)`);
    return row;
  }
}
