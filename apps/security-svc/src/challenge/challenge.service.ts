import { Inject, Injectable } from '@nestjs/common';
import { ChallengeFailure, DeviceRepository, DueChallenge, SecurityRepository } from '@nco/cib';
import { ChallengeFailedBody, Envelope, issueChallenge, isNcoError, judgeChallengeAnswer, publicKeyFrom, Subjects, verifyDeviceEnvelope } from '@nco/events';
import { KeyObject } from 'node:crypto';
import { fleetMetrics, NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { randomUUID } from 'node:crypto';
import { Logger } from 'pino';
import { KeysService } from '../keys/keys.service';
import { SecurityConfig } from '../settings';

type Outcome =
  | { d: DueChallenge; result: 'passed' }
  | { d: DueChallenge; result: 'failed'; failure: ChallengeFailedBody['failure']; reason: string }
  | { d: DueChallenge; result: 'released'; reason: string };

export interface SweepSummary {
  claimed: number;
  passed: number;
  failed: number;
  released: number;
  revokeOperationId?: string;
}

/**
 * Challenge-response (docs/security.md): claims the deployments whose security window passed
 * (one statement per batch), gets their keys in one call, challenges each module through its
 * DCA (bounded concurrency), and settles the batch in two statements: passes stamp
 * security_checked_at (installed → verified); failures — wrong answer, malformed answer, refusal
 * or timeout — queue a revoke of the module through the CIB (a revoke operation whose params.source is
 * `challenge`, delivered by revoke-svc) and announce why. A host that went offline is released, not failed.
 */
@Injectable()
export class ChallengeService {
  private readonly log: Logger;
  private readonly metrics = fleetMetrics();

  constructor(
    private readonly repo: SecurityRepository,
    private readonly devices: DeviceRepository,
    private readonly keys: KeysService,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: SecurityConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'challenge' });
  }

  /** One batch: claim, challenge, settle. */
  async sweep(): Promise<SweepSummary> {
    const c = this.config;
    const leaseS = Math.ceil((c.CHALLENGE_TIMEOUT_MS * 3) / 1000) + 5;
    const due = await this.repo.claimDueChallenges(c.CHALLENGE_BATCH, c.CHALLENGE_WINDOW_S, leaseS);
    if (!due.length) return { claimed: 0, passed: 0, failed: 0, released: 0 };
    const outcomes = await this.challengeAll(due);
    return this.settle(outcomes);
  }

  private async challengeAll(due: DueChallenge[]): Promise<Outcome[]> {
    const keyIds = [...new Set(due.map((d) => d.keyId).filter((k): k is string => !!k))];
    let keys: Map<string, Buffer>;
    try {
      keys = new Map((await this.keys.get(keyIds)).map((k) => [k.keyId, k.key]));
    } catch (e) {
      this.log.error({ keys: keyIds.length, err: (e as Error).message }, 'module keys unavailable; challenges of this batch postponed');
      return due.map((d) => ({ d, result: 'released', reason: 'keys unavailable' }));
    }
    // Answers must come from the host's enrolled device (docs/security.md): its keys, one query per batch.
    const enrolled = await this.devices.devicesOfHosts([...new Set(due.map((d) => d.hostId))]);
    const out: Outcome[] = [];
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const d = due[next++];
        const key = d.keyId ? keys.get(d.keyId) : undefined;
        // A deployment with no key on record cannot be checked: it was not built by this NCO's construct.
        out.push(key ? await this.challengeOne(d, key, enrolled.get(d.hostId)) : { d, result: 'failed', failure: 'refused', reason: 'the module has no key on record, so it cannot answer a challenge' });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.CHALLENGE_CONCURRENCY, due.length) }, worker));
    return out;
  }

  private async challengeOne(d: DueChallenge, key: Buffer, device?: { signKey: string; state: string; fingerprint: string }): Promise<Outcome> {
    if (device && device.state !== 'approved') return { d, result: 'released', reason: `device ${device.fingerprint} is ${device.state}` };
    const { nonce, body } = issueChallenge(key, d.moduleId);
    const subject = Subjects.device.challenge.subject({ hostId: d.hostId });
    let answer: { IV: string; Response: string };
    try {
      const env = await this.nats.bus.requestEnvelope(Subjects.device.challenge, { hostId: d.hostId }, body, { hostId: d.hostId, timeoutMs: this.config.CHALLENGE_TIMEOUT_MS });
      if (device && !verifyDeviceEnvelope(env as Envelope<unknown>, subject, this.deviceKey(device.signKey))) {
        return { d, result: 'failed', failure: 'refused', reason: `the answer is not signed by host ${d.hostId}'s device ${device.fingerprint}` };
      }
      answer = env.body;
    } catch (e) {
      if (!isNcoError(e)) return { d, result: 'failed', failure: 'refused', reason: `challenge failed: ${(e as Error).message}` };
      if (e.code === 'unavailable') return { d, result: 'released', reason: e.message }; // nobody listens: offline, not guilty
      if (e.code === 'timeout') return { d, result: 'failed', failure: 'timeout', reason: `no answer within ${this.config.CHALLENGE_TIMEOUT_MS} ms` };
      // The answer did not decode as a challenge answer (not JSON, wrong fields or types).
      if (e.code === 'invalid_message') return { d, result: 'failed', failure: 'malformed', reason: `malformed answer: ${e.message}` };
      return { d, result: 'failed', failure: 'refused', reason: `the device refused the challenge: ${e.message}` };
    }
    const verdict = judgeChallengeAnswer(key, nonce, d.moduleId, answer);
    if (verdict.ok) return { d, result: 'passed' };
    return { d, result: 'failed', failure: verdict.failure, reason: verdict.reason };
  }

  private readonly keyCache = new Map<string, KeyObject>();

  private deviceKey(spki: string): KeyObject {
    let k = this.keyCache.get(spki);
    if (!k) {
      if (this.keyCache.size > 100_000) this.keyCache.clear();
      k = publicKeyFrom(spki, 'ed25519');
      this.keyCache.set(spki, k);
    }
    return k;
  }

  private async settle(outcomes: Outcome[]): Promise<SweepSummary> {
    const passed = outcomes.filter((o) => o.result === 'passed').map((o) => o.d);
    const failed = outcomes.filter((o): o is Extract<Outcome, { result: 'failed' }> => o.result === 'failed');
    const released = outcomes.filter((o) => o.result === 'released').map((o) => o.d);
    await this.repo.challengesPassed(passed);
    await this.repo.releaseChallenges(released);
    const summary: SweepSummary = { claimed: outcomes.length, passed: passed.length, failed: failed.length, released: released.length };
    this.metrics.challenges.inc({ outcome: 'passed' }, passed.length);
    if (failed.length) {
      const operationId = randomUUID();
      const failures: ChallengeFailure[] = failed.map((f) => ({ hostId: f.d.hostId, moduleId: f.d.moduleId, moduleName: f.d.moduleName, reason: `security challenge failed (${f.failure}): ${f.reason}` }));
      await this.repo.challengesFailed(operationId, failures);
      summary.revokeOperationId = operationId;
      const bus = this.nats.bus;
      const hostIds = [...new Set(failed.map((f) => f.d.hostId))];
      bus.publish(Subjects.evt.pendingWork, undefined, { kinds: ['revoke'], hostIds }, { operationId });
      for (const f of failed) {
        this.metrics.challenges.inc({ outcome: 'failed' });
        this.metrics.refusals.inc({ by: 'nco', reason: `challenge_${f.failure}` });
        this.log.warn({ hostId: f.d.hostId, moduleId: f.d.moduleId, failure: f.failure, reason: f.reason, operationId }, 'security challenge failed: module revoked');
        bus.publish(
          Subjects.evt.challengeFailed,
          undefined,
          { hostId: f.d.hostId, moduleId: f.d.moduleId, moduleName: f.d.moduleName, failure: f.failure, reason: f.reason.slice(0, 2048), operationId },
          { hostId: f.d.hostId, operationId },
        );
      }
    }
    this.log[failed.length ? 'info' : 'debug'](summary, 'challenge batch settled');
    return summary;
  }
}
