import { Inject, Injectable } from '@nestjs/common';
import { DeviceRepository, NewDevice } from '@nco/cib';
import { CheckinBody, checkEnrollmentProof, Envelope, fingerprintOf, NcoError, publicKeyFrom, verifyDeviceEnvelope } from '@nco/events';
import { fleetMetrics, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { OrchestratorConfig } from '../settings';

/**
 * Device identity at check-in (docs/security.md). A check-in carrying an identity must be signed
 * by it (proof of possession, fresh). Per MAC, in one query per check-in batch:
 * - unknown MAC → enrolled: approved at once with a valid bootstrap-token proof, else pending
 *   until an operator runs `nco devices approve` (the check-in is refused until then);
 * - enrolled MAC → the same signing key must be presented; another key claims another
 *   device's identity and is refused; a revoked device is refused;
 * - no identity → refused when DEVICE_IDENTITY=required, or when the MAC has an enrolled identity.
 */
@Injectable()
export class DeviceEnrollment {
  private readonly log: Logger;
  private readonly metrics = fleetMetrics();

  constructor(
    private readonly devices: DeviceRepository,
    @Inject(SERVICE_CONFIG) private readonly config: OrchestratorConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'enrollment' });
  }

  /** CPU only, before the batch: the envelope is signed by the identity it claims, and fresh. */
  checkSignature(env: Envelope<CheckinBody>, subject: string): void {
    const id = env.body.identity;
    if (!id) return;
    let key;
    try {
      key = publicKeyFrom(id.signKey, 'ed25519');
      publicKeyFrom(id.encKey, 'x25519');
    } catch (e) {
      throw this.refuse(env.body.mac, 'bad_identity', `check-in identity: ${(e as Error).message}`);
    }
    if (!verifyDeviceEnvelope(env as Envelope<unknown>, subject, key)) throw this.refuse(env.body.mac, 'bad_signature', 'check-in is not signed by the identity it presents');
    const skew = Math.abs(Date.now() - Date.parse(env.issuedAt));
    if (!(skew <= this.config.CHECKIN_MAX_SKEW_MS)) throw this.refuse(env.body.mac, 'expired', `check-in was issued at ${env.issuedAt}, more than ${this.config.CHECKIN_MAX_SKEW_MS} ms from the NCO's clock`);
  }

  /** The batch's verdicts: MACs refused, with why. Enrolls first-time devices. */
  async admit(bodies: CheckinBody[]): Promise<Map<string, NcoError>> {
    const refused = new Map<string, NcoError>();
    const known = await this.devices.byMacs(bodies.map((b) => b.mac));
    const enroll: NewDevice[] = [];
    for (const b of bodies) {
      const row = known.get(b.mac);
      const id = b.identity;
      if (!id) {
        if (row) refused.set(b.mac, this.refuse(b.mac, 'unsigned', `MAC ${b.mac} is enrolled with device ${row.fingerprint}: its check-ins must carry that identity`));
        else if (this.config.DEVICE_IDENTITY === 'required') refused.set(b.mac, this.refuse(b.mac, 'unenrolled', 'this NCO requires a device identity at check-in (a DCA of this version sends one)'));
        continue;
      }
      const fingerprint = fingerprintOf(id.signKey);
      if (!row) {
        const token = this.config.NCO_ENROLL_TOKEN;
        const byToken = !!token && !!id.enrollProof && checkEnrollmentProof(token, id.signKey, id.enrollProof);
        enroll.push({ mac: b.mac, signKey: id.signKey, encKey: id.encKey, fingerprint, state: byToken ? 'approved' : 'pending', enrolledBy: byToken ? 'token' : null });
        if (byToken) this.log.info({ mac: b.mac, fingerprint }, 'device enrolled with the bootstrap token');
        else {
          this.log.warn({ mac: b.mac, fingerprint, tokenProof: !!id.enrollProof }, 'device awaits operator approval');
          refused.set(b.mac, this.refuse(b.mac, 'unenrolled', `device ${fingerprint} is not approved yet: nco devices approve ${b.mac}`, 'info'));
        }
        continue;
      }
      if (row.signKey !== id.signKey) {
        refused.set(b.mac, this.refuse(b.mac, 'identity_mismatch', `MAC ${b.mac} belongs to device ${row.fingerprint}; this check-in is signed by ${fingerprint}`));
      } else if (row.state === 'revoked') {
        refused.set(b.mac, this.refuse(b.mac, 'device_revoked', `device ${fingerprint} was revoked by an operator`));
      } else if (row.state === 'pending') {
        refused.set(b.mac, this.refuse(b.mac, 'unenrolled', `device ${fingerprint} is not approved yet: nco devices approve ${b.mac}`, 'debug'));
      }
    }
    await this.devices.enroll(enroll);
    return refused;
  }

  bind(pairs: Array<{ mac: string; hostId: number }>): Promise<void> {
    return this.devices.bindHosts(pairs);
  }

  private refuse(mac: string, reason: string, message: string, level: 'warn' | 'info' | 'debug' = 'warn'): NcoError {
    this.metrics.refusals.inc({ by: 'nco', reason: `checkin_${reason}` });
    if (level !== 'info') this.log[level]({ mac, reason }, `check-in refused: ${message}`);
    return new NcoError('invalid_request', message);
  }
}
