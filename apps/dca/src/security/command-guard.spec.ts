import { CommandSigner, encode, generateSigningKey, makeEnvelope, parseSigningKey, silentLogger, Subjects } from '@nco/events';
import { Msg } from 'nats';
import type { Agent } from '../agent/agent';
import { CommandRouter } from '../agent/command-router';
import { SignedCommandGuard } from './command-guard';
import { commandGuardFrom } from './settings';

const nco = generateSigningKey('nco-1');
const signer = new CommandSigner(parseSigningKey(nco.privateSpec));

function setup() {
  const agent = { hostId: 12, state: 'running', revoke: jest.fn(async () => ({ ID: 3, Result: 1 })) } as unknown as Agent;
  const published: Array<{ subject: string; body: any }> = [];
  const bus = { publish: (c: any, p: any, body: any) => void published.push({ subject: c.subject(p), body }) };
  const guard = new SignedCommandGuard({ trustedKeys: nco.publicSpec, windowMs: 60_000, replayCacheSize: 1000 });
  const router = new CommandRouter(bus as never, (id) => (id === 12 ? agent : undefined), silentLogger, guard);
  const send = async (subject: string, env: unknown) => {
    const replies: any[] = [];
    const msg = { subject, data: encode(env), reply: '_INBOX.x', respond: (d: Uint8Array) => replies.push(JSON.parse(new TextDecoder().decode(d))) };
    router.onMessage(null, msg as unknown as Msg);
    await router.drained();
    return replies[0];
  };
  return { agent, send, published };
}

const revoke = (hostId = 12, issuedAt = new Date()) => makeEnvelope(Subjects.device.revoke.type, { moduleId: 3 }, { hostId, issuedAt });
const signed = (hostId = 12, issuedAt?: Date) => signer.sign(revoke(hostId, issuedAt), `nco.dev.${hostId}.cmd.revoke`);

describe('CommandRouter with the signed-command guard', () => {
  it('runs a signed command for this host', async () => {
    const t = setup();
    const reply = await t.send('nco.dev.12.cmd.revoke', signed());
    expect(reply).toMatchObject({ type: 'dca.cmd.revoke.reply', body: { ID: 3, Result: 1 } });
    expect(t.published).toEqual([]);
  });

  it.each([
    ['unsigned', () => revoke(), 'command_unsigned', 'command refused: command is not signed by the NCO'],
    ['for another host', () => signed(13), 'command_wrong_host', 'command refused: command is addressed to host 13, not 12'],
    ['expired', () => signed(12, new Date(Date.now() - 120_000)), 'command_expired', expect.stringContaining('outside the 60000 ms window')],
  ])('refuses a command %s: nothing runs, the NCO gets the reason, an incident is published', async (_, make, kind, message) => {
    const t = setup();
    const env = make();
    const reply = await t.send('nco.dev.12.cmd.revoke', env);
    expect(reply).toMatchObject({ type: 'error', body: { code: 'invalid_request', message } });
    expect(t.agent.revoke).not.toHaveBeenCalled();
    expect(t.published).toEqual([{ subject: 'nco.dev.12.evt.incident', body: expect.objectContaining({ kind, messageId: env.id }) }]);
  });

  it('refuses a replayed command: it ran once only', async () => {
    const t = setup();
    const env = signed();
    await t.send('nco.dev.12.cmd.revoke', env);
    const reply = await t.send('nco.dev.12.cmd.revoke', env);
    expect(reply.body.message).toMatch(/already used \(replay\)/);
    expect(t.agent.revoke).toHaveBeenCalledTimes(1);
    expect(t.published[0].body.kind).toBe('command_replayed');
  });

  it('needs trusted keys unless unsigned commands are explicitly allowed', () => {
    const base = { DCA_ALLOW_UNSIGNED: false, DCA_COMMAND_WINDOW_MS: 60_000, DCA_REPLAY_CACHE_SIZE: 1000 };
    expect(() => commandGuardFrom(base)).toThrow('DCA_TRUSTED_KEYS: not set');
    expect(commandGuardFrom({ ...base, DCA_ALLOW_UNSIGNED: true })).toBeUndefined();
    expect(() => commandGuardFrom({ ...base, DCA_TRUSTED_KEYS: 'k:AAAA' })).toThrow('DCA_TRUSTED_KEYS: trusted key k: not an SPKI public key');
    expect(commandGuardFrom({ ...base, DCA_TRUSTED_KEYS: nco.publicSpec })).toBeInstanceOf(SignedCommandGuard);
  });
});
