import { Inject, Injectable } from '@nestjs/common';
import { DeviceRepository } from '@nco/cib';
import { issueDeviceJwt, loadNatsAuth, natsUserKeyOfDevice, pushRevocations, UserIssuer, userIssuer } from '@nco/events';
import { ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { OrchestratorConfig } from '../settings';

/**
 * Devices' NATS access (docs/security.md, "NATS permissions"), when NATS_AUTH_DIR is set: an
 * approved device that asks at check-in gets its user JWT (bound to its identity key, so it is
 * useless to anyone else), and revoking a device pushes the NCO account JWT with every revoked
 * device's key in `revocations`, so the server closes its connections at once.
 */
@Injectable()
export class DeviceNatsAccess {
  private readonly log: Logger;
  private readonly issuer?: UserIssuer;

  constructor(
    private readonly devices: DeviceRepository,
    @Inject(SERVICE_CONFIG) private readonly config: OrchestratorConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'device-nats' });
    // Read at start, so a missing or broken directory stops the orchestrator with its name.
    if (config.NATS_AUTH_DIR) this.issuer = userIssuer(loadNatsAuth(config.NATS_AUTH_DIR));
  }

  get enabled(): boolean {
    return !!this.issuer;
  }

  /** The JWT of an admitted (approved, not revoked) device; undefined when this NCO issues none. */
  issue(hostId: number, signKey: string): Promise<string> | undefined {
    return this.issuer && issueDeviceJwt(this.issuer, hostId, natsUserKeyOfDevice(signKey));
  }

  /** Pushes the revocations of every revoked device (one query) to the NATS servers. */
  async pushRevocations(): Promise<void> {
    const dir = this.config.NATS_AUTH_DIR;
    if (!dir) return;
    const revocations: Record<string, number> = {};
    for (const d of await this.devices.revokedKeys()) revocations[natsUserKeyOfDevice(d.signKey)] = Math.floor(d.revokedAt.getTime() / 1000);
    const r = await pushRevocations(dir, revocations, this.config.NATS_URL);
    this.log.info({ revokedDevices: Object.keys(revocations).length, total: r.total, recorded: r.recorded }, 'NATS revocations pushed');
  }
}
