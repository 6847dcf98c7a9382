import { Inject, Injectable } from '@nestjs/common';
import { DeviceRepository, DeviceState } from '@nco/cib';
import { Envelope, publicKeyFrom, verifyDeviceEnvelope } from '@nco/events';
import { fleetMetrics, ROOT_LOGGER } from '@nco/runtime';
import { KeyObject } from 'node:crypto';
import { Logger } from 'pino';

interface Known {
  state: DeviceState;
  key?: KeyObject;
  fingerprint: string;
}

/** How long a host's device record is trusted before it is read again (a revoke takes effect within this). */
const CACHE_MS = 10_000;
const CACHE_MAX = 200_000;

/**
 * Reports bound to device identity (docs/security.md): a host with an enrolled device must
 * send reports signed by that device's key; a host whose device is pending or revoked is not
 * believed. Hosts without an enrolled device (DEVICE_IDENTITY=optional, older DCAs) pass. The
 * devices of a batch are read in one query and cached briefly.
 */
@Injectable()
export class ReportIdentity {
  private readonly cache = new Map<number, Known | null>();
  private readonly checkedAt = new Map<number, number>();
  /** Parsed public keys by their encoding: a re-read of a host's record does not parse its key again. */
  private readonly keys = new Map<string, KeyObject>();
  private readonly log: Logger;
  private readonly metrics = fleetMetrics();

  constructor(
    private readonly devices: DeviceRepository,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'report-identity' });
  }

  /** Why a report must be refused, per position; undefined where it may be applied. */
  async check(reports: Array<{ hostId: number; subject: string; data: Uint8Array }>): Promise<Array<string | undefined>> {
    await this.load([...new Set(reports.map((r) => r.hostId))]);
    return reports.map((r) => {
      const known = this.cache.get(r.hostId);
      if (!known) return undefined;
      if (known.state !== 'approved') return `host ${r.hostId}'s device ${known.fingerprint} is ${known.state}`;
      let env: Envelope<unknown>;
      try {
        env = JSON.parse(new TextDecoder().decode(r.data));
      } catch {
        return 'report is not valid JSON';
      }
      if (!verifyDeviceEnvelope(env, r.subject, known.key!)) {
        this.metrics.refusals.inc({ by: 'nco', reason: 'report_wrong_device' });
        return `report is not signed by host ${r.hostId}'s device ${known.fingerprint}`;
      }
      return undefined;
    });
  }

  private async load(hostIds: number[]): Promise<void> {
    const now = Date.now();
    // Hosts without a device are re-read too (one may enroll), at most every CACHE_MS like the others.
    const todo = hostIds.filter((h) => now - (this.checkedAt.get(h) ?? 0) > CACHE_MS);
    if (!todo.length) return;
    if (this.cache.size > CACHE_MAX) {
      this.cache.clear();
      this.checkedAt.clear();
      this.keys.clear();
    }
    const found = await this.devices.devicesOfHosts(todo);
    for (const h of todo) {
      const d = found.get(h);
      this.checkedAt.set(h, now);
      if (!d) {
        this.cache.set(h, null);
        continue;
      }
      let key: KeyObject | undefined;
      try {
        key = this.keys.get(d.signKey) ?? publicKeyFrom(d.signKey, 'ed25519');
        this.keys.set(d.signKey, key);
      } catch (e) {
        this.log.error({ hostId: h, err: (e as Error).message }, 'enrolled device key does not parse');
      }
      this.cache.set(h, { state: key ? d.state : 'revoked', key, fingerprint: d.fingerprint });
    }
  }

}
