import { CheckinReply, deriveReportMacKey, DeviceKeys, Envelope, generateDeviceKeys, generateReportKey, makeEnvelope, NcoError, parseReportKeys, publicKeyFrom, silentLogger, Subjects, verifyDeviceEnvelope, verifyReportMac } from '@nco/events';
import { createHash } from 'node:crypto';
import { SimulatedDriver } from '../driver/simulated.driver';
import { stampedKo } from '../testing/stamped-artifacts';
import { Agent, AgentBus, AGENT_VERSION } from './agent';
import { AgentRuntime } from './agent-runtime';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';

const reply = (hostId: number, reportIntervalMs = 1000): CheckinReply => ({ hostId, isNew: true, reportIntervalMs });

function setup(answers: Array<CheckinReply | Error>, keys?: DeviceKeys) {
  const sleeps: number[] = [];
  const published: Array<{ subject: string; body: any; opts: any }> = [];
  const requests: any[] = [];
  const bus = {
    request: jest.fn(async (_c: unknown, _p: unknown, body: unknown) => {
      requests.push(body);
      const next = answers.shift();
      if (!next) throw new NcoError('timeout', 'no answer');
      if (next instanceof Error) throw next;
      return next;
    }),
    publish: jest.fn((contract: any, params: any, body: any, opts: any) => {
      published.push({ subject: contract.subject(params), body, opts });
    }),
  };
  const runtime = { attach: jest.fn(), detach: jest.fn(), limit: jest.fn((fn: () => Promise<unknown>) => fn()) };
  const driver = new SimulatedDriver();
  const agent = new Agent({
    bus: bus as unknown as AgentBus,
    driver,
    runtime: runtime as unknown as AgentRuntime,
    logger: silentLogger,
    identity: { mac: '02:00:00:00:00:01', release: '6.1.0-sim', middleboxType: 'wireshark' },
    keys,
    random: () => 0.5,
    sleep: async (ms) => void sleeps.push(ms),
  });
  return { agent, bus, runtime, driver, sleeps, published, requests };
}

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with jitter between half and all of the step', () => {
    const o = { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, false, o, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, false, o, () => 0)).toBe(400);
    expect(backoffDelay(60, false, o, Math.random)).toBeLessThanOrEqual(1000);
  });

  it('retries refusals slowly: at least the slow floor, at most the slow cap', () => {
    const o = { initialMs: 100, maxMs: 1000, slowMinMs: 5000, slowMaxMs: 20_000 };
    expect(backoffDelay(0, true, o, () => 1)).toBe(5000);
    expect(backoffDelay(20, true, o, () => 1)).toBe(20_000);
  });
});

describe('Agent', () => {
  it('MACs its reports under the key derived from the NCO report key it was handed; signs them without one', async () => {
    const keys = generateDeviceKeys();
    const [nco] = parseReportKeys(generateReportKey('r1').privateSpec);
    const sent = (t: ReturnType<typeof setup>) => {
      const { subject, body, opts } = t.published[0];
      const env = makeEnvelope('dca.report', body, { hostId: opts.hostId }) as Envelope<unknown>;
      opts.sign(env, subject);
      return { env, subject };
    };
    const mac = setup([{ ...reply(42), reportKey: { kid: nco.kid, key: nco.publicKey } }], keys);
    await mac.agent.start();
    const m = sent(mac);
    expect(m.env.sig).toMatchObject({ kid: 'r1', alg: 'hmac-sha256' });
    expect(verifyReportMac(m.env, m.subject, deriveReportMacKey(nco.privateKey, keys.encPublic, 42))).toBe(true);

    const signed = setup([reply(42)], keys);
    await signed.agent.start();
    const s = sent(signed);
    expect(s.env.sig).toMatchObject({ kid: keys.fingerprint, alg: 'ed25519' });
    expect(verifyDeviceEnvelope(s.env, s.subject, publicKeyFrom(keys.signPublic, 'ed25519'))).toBe(true);
  });

  it('checks in with its identity, retrying with growing delays until the NCO answers', async () => {
    const t = setup([new NcoError('unavailable', 'no service'), new NcoError('timeout', 'slow'), new Error('boom'), reply(42)]);
    await t.agent.start();
    expect(t.requests[0]).toEqual({
      mac: '02:00:00:00:00:01',
      release: '6.1.0-sim',
      middleboxType: 'wireshark',
      agent: { version: AGENT_VERSION, driver: 'simulated' },
    });
    expect(t.sleeps).toEqual([0, 1, 2].map((a) => backoffDelay(a, false, DEFAULT_BACKOFF, () => 0.5)));
    expect(t.agent).toMatchObject({ hostId: 42, reportIntervalMs: 1000, state: 'running', checkins: 1 });
    expect(t.runtime.attach).toHaveBeenCalledWith(t.agent);
    expect(t.runtime.limit).toHaveBeenCalledTimes(4);
  });

  it('retries slowly when the NCO refuses the check-in', async () => {
    const t = setup([new NcoError('invalid_message', 'bad mac'), new NcoError('invalid_request', 'no'), reply(1)]);
    await t.agent.start();
    expect(t.sleeps).toEqual([backoffDelay(0, true, DEFAULT_BACKOFF, () => 0.5), backoffDelay(1, true, DEFAULT_BACKOFF, () => 0.5)]);
    expect(t.sleeps[0]).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.slowMinMs / 2);
    expect(t.agent.lastCheckinError).toBeUndefined();
  });

  it('publishes a check-in report at once, then reports with a rising seq under its host id', async () => {
    const t = setup([reply(42)]);
    await t.agent.start();
    await t.driver.install(stampedKo({ moduleId: 5 }), { moduleId: 5, params: {} });
    await t.agent.report('interval');
    const answer = await t.agent.answerReportRequest();
    await t.agent.report('change');
    await new Promise((r) => setImmediate(r));
    const seen = t.published.map((p) => [p.subject, p.body.reason, p.body.seq, p.opts.hostId]);
    expect(seen).toEqual([
      ['nco.dev.42.report', 'checkin', 0, 42],
      ['nco.dev.42.report', 'interval', 1, 42],
      ['nco.dev.42.report', 'request', 2, 42],
      ['nco.dev.42.report', 'change', 3, 42],
    ]);
    expect(answer).toEqual(t.published[2].body);
    expect(answer.kernel.Installed).toEqual([expect.objectContaining({ ID: 5, Activated: 1, Count: 0 })]);
    expect(Subjects.device.report.body.parse(answer)).toEqual(answer);
  });

  it('logs a report that fails to publish and goes on', async () => {
    const t = setup([reply(42)]);
    await t.agent.start();
    t.bus.publish.mockImplementationOnce(() => {
      throw new Error('connection closed');
    });
    expect(await t.agent.report('interval')).toBeUndefined();
    // A lost report leaves a gap in seq, never a repeat.
    expect((await t.agent.report('interval'))?.seq).toBe(2);
  });

  it('checks in again after a reconnect and moves to a new host id when the NCO gives one', async () => {
    const t = setup([reply(42), reply(77, 2000)]);
    await t.agent.start();
    await t.agent.checkInAgain();
    expect(t.agent).toMatchObject({ hostId: 77, reportIntervalMs: 2000, checkins: 2 });
    expect(t.runtime.attach).toHaveBeenLastCalledWith(t.agent, 42);
    await new Promise((r) => setImmediate(r));
    expect(t.published.map((p) => p.subject)).toEqual(['nco.dev.42.report', 'nco.dev.77.report']);
  });

  it('stop() ends a check-in that is still retrying, and the agent can start again', async () => {
    const t = setup([]);
    let wake!: () => void;
    const sleeping = new Promise<void>((r) => (wake = r));
    const agent = new Agent({
      bus: t.bus as unknown as AgentBus,
      driver: t.driver,
      runtime: t.runtime as unknown as AgentRuntime,
      logger: silentLogger,
      identity: { mac: '02:00:00:00:00:02', release: '6.1.0' },
      sleep: (_ms, signal) =>
        new Promise((_, reject) => {
          wake();
          signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    });
    const started = agent.start();
    await sleeping;
    await agent.stop();
    await started;
    expect(agent.state).toBe('stopped');
    expect(agent.hostId).toBeUndefined();
    expect(t.runtime.detach).toHaveBeenCalledWith(agent);
    expect(await agent.report('interval')).toBeUndefined();

    t.bus.request.mockResolvedValueOnce(reply(9));
    await agent.start();
    expect(agent).toMatchObject({ state: 'running', hostId: 9 });
  });

  it('answers symvers with the release it checked in with and the hash of the content', async () => {
    const t = setup([reply(1)]);
    const content = Buffer.from('0x95c4b411\tl45_register_customization\n');
    const agent = new Agent({
      bus: t.bus as unknown as AgentBus,
      driver: new SimulatedDriver({ symvers: async () => content }),
      runtime: t.runtime as unknown as AgentRuntime,
      logger: silentLogger,
      identity: { mac: '02:00:00:00:00:03', release: '6.1.0-56-amd64' },
    });
    expect(await agent.answerSymvers()).toEqual({
      release: '6.1.0-56-amd64',
      sha256: createHash('sha256').update(content).digest('hex'),
      contentBase64: content.toString('base64'),
    });
  });

  it('a stopped agent does not report', async () => {
    const t = setup([reply(3)]);
    await t.agent.start();
    await t.agent.stop();
    await t.agent.report('interval');
    expect(t.published).toHaveLength(1);
  });
});
