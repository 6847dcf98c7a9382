import { CommandSigner, encode, Envelope, makeEnvelope, parseSigningKey, Subjects } from '@nco/events';
import { TestSystem } from '../support/system';

/** What a test asserts is untouched by a refused message: the CIB's desired and recorded state. */
export async function cibSnapshot(sys: TestSystem): Promise<unknown> {
  const [deployments, pending, revocations, unknown] = await Promise.all([
    sys.query(`SELECT host_id, module_id, state, active_mode, priority, deprecated, failure_reason FROM deployments ORDER BY host_id, module_id`),
    sys.query(`SELECT host_id, module_id, kind, state, args FROM pending_operations ORDER BY host_id, module_id, kind`),
    sys.query(`SELECT host_id, module_id, source, reason FROM revocations ORDER BY id`),
    sys.query(`SELECT host_id, module_id FROM unknown_modules ORDER BY host_id, module_id`),
  ]);
  return { deployments, pending, revocations, unknown };
}

/** Sends a raw command envelope to a device, as an attacker with NATS access could, and returns the reply. */
export async function sendRaw(sys: TestSystem, subject: string, env: Envelope<unknown>): Promise<{ type: string; body: any }> {
  const reply = await sys.bus.nc.request(subject, encode(env), { timeout: 5_000 });
  return JSON.parse(new TextDecoder().decode(reply.data));
}

/** A revoke command for a device, signed with the system's key unless told otherwise. */
export function revokeCommand(sys: TestSystem, hostId: number, moduleId: number, o: { issuedAt?: Date; sign?: boolean; subjectHost?: number } = {}) {
  const env = makeEnvelope(Subjects.device.revoke.type, { moduleId }, { hostId, issuedAt: o.issuedAt });
  if (o.sign !== false) new CommandSigner(parseSigningKey(sys.signingKey!.privateSpec)).sign(env, Subjects.device.revoke.subject({ hostId }));
  return env;
}
