import { Inject, Injectable } from '@nestjs/common';
import { DeviceRepository, DeviceState } from '@nco/cib';
import { deriveReportMacKey, Envelope, loadReportKeys, publicKeyFrom, ReportKey, verifyDeviceEnvelope, verifyReportMac } from '@nco/events';
import { fleetMetrics, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { KeyObject } from 'node:crypto';
import { Logger } from 'pino';
import { MonitorConfig } from '../settings';

interface Known {
  state: DeviceState;
  key?: KeyObject;
  fingerprint: string;
  encKey: string;
  /** Report MAC keys by NCO report key id, derived on first use (one X25519 per host and key, not per report). */
  macKeys: Map<string, Buffer | null>;
}

/** How long a host's device record is trusted before it is read again (a revoke takes effect within this). */
const CACHE_MS = 10_000;
const CACHE_MAX = 200_000;

/**
 * Reports bound to device identity (docs/security.md): a host with an enrolled device must
 * send reports signed by that device's key, or MAC'ed under the key only it and the NCO can
 * derive (NCO_REPORT_KEY); a host whose device is pending or revoked is not
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
  private readonly reportKeys: Map<string, ReportKey>;

  constructor(
    private readonly devices: DeviceRepository,
    @Inject(ROOT_LOGGER) root: Logger,
    @Inject(SERVICE_CONFIG) config: MonitorConfig,
  ) {
    this.log = root.child({ component: 'report-identity' });
    this.reportKeys = new Map(loadReportKeys(config).map((k) => [k.kid, k]));
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
      if (!this.authentic(env, r.subject, r.hostId, known)) {
        this.metrics.refusals.inc({ by: 'nco', reason: 'report_wrong_device' });
        return `report is not signed by host ${r.hostId}'s device ${known.fingerprint}`;
      }
      return undefined;
    });
  }

  /** A MAC under the host's report key, or (devices not handed a report key yet) the device's signature. */
  private authentic(env: Envelope<unknown>, subject: string, hostId: number, known: Known): boolean {
    const sig = (env as Partial<Envelope<unknown>> | null)?.sig;
    if (sig?.alg !== 'hmac-sha256') return !!env && verifyDeviceEnvelope(env, subject, known.key!);
    const key = this.macKey(known, hostId, String(sig.kid));
    return !!key && verifyReportMac(env, subject, key);
  }

  private macKey(known: Known, hostId: number, kid: string): Buffer | null {
    if (known.macKeys.has(kid)) return known.macKeys.get(kid)!;
    const nco = this.reportKeys.get(kid);
    let key: Buffer | null = null;
    try {
      if (nco) key = deriveReportMacKey(nco.privateKey, known.encKey, hostId);
    } catch (e) {
      this.log.error({ hostId, err: (e as Error).message }, 'enrolled device encryption key does not parse');
    }
    if (nco) known.macKeys.set(kid, key);
    return key;
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
      // Derived MAC keys outlive a re-read as long as the device's encryption key is the same.
      const prev = this.cache.get(h);
      const macKeys = prev && prev.encKey === d.encKey ? prev.macKeys : new Map<string, Buffer | null>();
      this.cache.set(h, { state: key ? d.state : 'revoked', key, fingerprint: d.fingerprint, encKey: d.encKey, macKeys });
    }
  }

}
