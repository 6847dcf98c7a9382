import { decodeEnvelope, encode, envelopeSchema, ErrorBodySchema, makeEnvelope, silentLogger, Subjects } from '@nco/events';
import { Msg } from 'nats';
import { DriverError } from '../driver/driver';
import type { Agent } from './agent';
import { CommandRouter, commandSubject } from './command-router';

const report = { seq: 4, reason: 'request' as const, kernel: { Installed: [], Deprecated: [], Revoked: [] } };
const ErrorEnvelope = envelopeSchema('error', ErrorBodySchema);

const symvers = { release: '6.1.0-sim', sha256: 'a'.repeat(64), contentBase64: Buffer.from('0x1\tsym').toString('base64') };

function setup(answer: () => Promise<unknown> = async () => report) {
  const agent = { hostId: 12, state: 'running', answerReportRequest: jest.fn(answer), answerSymvers: jest.fn(async () => symvers) } as unknown as Agent;
  const published: Array<{ subject: string; body: any }> = [];
  const bus = { publish: (c: any, p: any, body: any) => void published.push({ subject: c.subject(p), body }) };
  const router = new CommandRouter(bus as never, (id) => (id === 12 ? agent : undefined), silentLogger);
  const send = async (subject: string, data: unknown) => {
    const replies: Uint8Array[] = [];
    const msg = { subject, data: typeof data === 'string' ? new TextEncoder().encode(data) : encode(data), reply: '_INBOX.x', respond: (d: Uint8Array) => replies.push(d) };
    router.onMessage(null, msg as unknown as Msg);
    await router.drained();
    return replies.map((r) => JSON.parse(new TextDecoder().decode(r)));
  };
  return { agent, router, send, published };
}

const request = (hostId?: number) => makeEnvelope(Subjects.device.requestReport.type, {}, { hostId, operationId: '0b5cf0a8-3f5e-4a8f-9a36-8e7a3d6b9a01' });

describe('CommandRouter', () => {
  it('builds the command subjects from the contract prefix', () => {
    expect(commandSubject()).toBe('nco.dev.*.cmd.>');
    expect(commandSubject(12)).toBe('nco.dev.12.cmd.>');
  });

  it('answers a report request with the agent report in a reply envelope', async () => {
    const t = setup();
    const [reply] = await t.send('nco.dev.12.cmd.report', request(12));
    const env = decodeEnvelope(encode(reply), Subjects.device.requestReport.replyEnvelope, 1e6);
    expect(env).toMatchObject({ type: 'dca.cmd.report.reply', hostId: 12, operationId: '0b5cf0a8-3f5e-4a8f-9a36-8e7a3d6b9a01', body: report });
  });

  it('answers a symvers request', async () => {
    const t = setup();
    const [reply] = await t.send('nco.dev.12.cmd.symvers', makeEnvelope(Subjects.device.symvers.type, {}, { hostId: 12 }));
    expect(decodeEnvelope(encode(reply), Subjects.device.symvers.replyEnvelope, 1e6).body).toEqual(symvers);
  });

  it('refuses a command meant for another host, and reports the incident', async () => {
    const t = setup();
    const [reply] = await t.send('nco.dev.12.cmd.report', request(13));
    expect(ErrorEnvelope.parse(reply).body).toEqual({ code: 'invalid_request', message: 'command is meant for host 13, not 12' });
    expect(t.agent.answerReportRequest).not.toHaveBeenCalled();
    expect(t.published).toEqual([
      { subject: 'nco.dev.12.evt.incident', body: expect.objectContaining({ kind: 'command_refused', subject: 'nco.dev.12.cmd.report' }) },
    ]);
  });

  it('refuses malformed messages and unknown verbs with a clear error', async () => {
    const t = setup();
    expect((await t.send('nco.dev.12.cmd.report', 'not json'))[0].body).toEqual({ code: 'invalid_message', message: 'message is not valid JSON' });
    expect((await t.send('nco.dev.12.cmd.report', makeEnvelope('dca.cmd.report', { extra: 1 })))[0].body.code).toBe('invalid_message');
    expect((await t.send('nco.dev.12.cmd.reboot', request(12)))[0].body).toEqual({ code: 'invalid_request', message: 'unknown command reboot' });
    expect(t.published).toHaveLength(3);
  });

  it('passes a driver failure back as its text, and hides other failures', async () => {
    const failing = setup(async () => {
      throw new DriverError('core not loaded');
    });
    expect((await failing.send('nco.dev.12.cmd.report', request()))[0].body).toEqual({ code: 'invalid_request', message: 'core not loaded' });
    const broken = setup(async () => {
      throw new TypeError('x is undefined');
    });
    expect((await broken.send('nco.dev.12.cmd.report', request()))[0].body).toEqual({ code: 'internal', message: 'device agent error' });
  });

  it('stays silent for a device that is not running here, as an offline device would', async () => {
    const t = setup();
    expect(await t.send('nco.dev.99.cmd.report', request(99))).toEqual([]);
    (t.agent as { state: string }).state = 'stopped';
    expect(await t.send('nco.dev.12.cmd.report', request(12))).toEqual([]);
  });
});
