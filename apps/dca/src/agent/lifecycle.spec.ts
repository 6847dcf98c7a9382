import { CheckinReply, decodeEnvelope, encode, ErrorBodySchema, envelopeSchema, makeEnvelope, Subjects } from '@nco/events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Msg } from 'nats';
import { SimulatedDriver } from '../driver/simulated.driver';
import { installCommand, stampedKo, templateKo, testKey } from '../testing/stamped-artifacts';
import { Agent, AgentBus } from './agent';
import { AgentRuntime } from './agent-runtime';
import { CommandRouter } from './command-router';

const HOST = 12;
const ErrorEnvelope = envelopeSchema('error', ErrorBodySchema);
type Verb = 'install' | 'toggle' | 'priority' | 'deprecate' | 'revoke';

/** One device as the NCO sees it: commands in through the router, replies and reports out. */
async function device(statePath?: string) {
  let clock = 1_764_000_000_000;
  const published: Array<{ subject: string; body: any }> = [];
  const logLines: string[] = [];
  const log = (level: string) => (fields: object, msg?: string) => void logLines.push(`${level} ${msg} ${JSON.stringify(fields)}`);
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const bus = {
    request: async (): Promise<CheckinReply> => ({ hostId: HOST, isNew: true, reportIntervalMs: 60_000 }),
    publish: (c: any, p: any, body: any) => void published.push({ subject: c.subject(p), body }),
  };
  const runtime = { attach() {}, detach() {}, limit: (fn: () => Promise<unknown>) => fn() };
  const driver = await SimulatedDriver.open({ statePath, now: () => clock });
  const agent = new Agent({ bus: bus as unknown as AgentBus, driver, runtime: runtime as unknown as AgentRuntime, logger, identity: { mac: '02:00:00:00:00:0c', release: '6.1.0-sim' } });
  await agent.start();
  const router = new CommandRouter(bus as never, (id) => (id === HOST ? agent : undefined), logger);

  /** Sends a command as the NCO would; resolves with the reply body or `{ error }`. */
  const send = async (verb: Verb, body: unknown): Promise<any> => {
    const contract = Subjects.device[verb];
    const replies: Uint8Array[] = [];
    const msg = {
      subject: contract.subject({ hostId: HOST }),
      data: encode(makeEnvelope(contract.type, body, { hostId: HOST })),
      reply: '_INBOX.x',
      respond: (d: Uint8Array) => replies.push(d),
    };
    router.onMessage(null, msg as unknown as Msg);
    await router.drained();
    const raw = JSON.parse(new TextDecoder().decode(replies[0]));
    if (raw.type === 'error') return { error: ErrorEnvelope.parse(raw).body };
    return decodeEnvelope(replies[0], contract.replyEnvelope, 1e6).body;
  };
  const reports = () => published.filter((p) => p.subject === `nco.dev.${HOST}.report`).map((p) => p.body);
  const lastReport = () => reports()[reports().length - 1];
  const incidents = () => published.filter((p) => p.subject === `nco.dev.${HOST}.evt.incident`).map((p) => p.body);
  return { agent, driver, send, reports, lastReport, incidents, logLines, tick: (ms: number) => (clock += ms) };
}

describe('DCA lifecycle commands (router → agent → simulated core)', () => {
  it('installs a stamped artifact: Result 1, a change report at once, values from the NCO block', async () => {
    const d = await device();
    const ko = stampedKo({ moduleId: 513, priority: 40, activate: 0, applyNow: true });
    expect(await d.send('install', installCommand(ko, 513, { dst_port: 53 }))).toEqual({ ID: 513, Result: 1 });
    expect(d.lastReport()).toMatchObject({ reason: 'change', kernel: { Installed: [{ ID: 513, Activated: 0, Count: 0 }] } });
    expect(d.driver.inspect(513)).toMatchObject({ priority: 40, activated: 0, applyNow: true, params: { dst_port: 53 }, hasKey: true });
    expect(d.incidents()).toEqual([]);
    // The key is never logged.
    expect(d.logLines.some((l) => l.includes('module installed'))).toBe(true);
    expect(d.logLines.join('\n')).not.toContain(testKey(513));
  });

  it.each([
    ['size mismatch', (c: any) => ({ ...c, size: c.size + 1 }), /^artifact is 8232 bytes, the command says 8233$/],
    ['sha256 mismatch', (c: any) => ({ ...c, sha256: 'f'.repeat(64) }), /^artifact sha256 is [0-9a-f]{64}, the command says f{64}$/],
    ['bad base64', (c: any) => ({ ...c, artifactBase64: `${c.artifactBase64.slice(0, -4)}!!!!` }), /^artifactBase64 is not valid base64$/],
    ['module id mismatch', (c: any) => ({ ...c, moduleId: 514 }), /^artifact is for module 513, not 514$/],
    ['bad parameter', (c: any) => ({ ...c, params: { 'x y': 1 } }), /is not a C identifier/],
  ])('refuses an install with a %s, with a clear error and an incident; nothing changes', async (_what, mutate, message) => {
    const d = await device();
    const before = d.reports().length;
    const reply = await d.send('install', mutate(installCommand(stampedKo({ moduleId: 513 }), 513)));
    expect(reply.error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(message) });
    expect(await d.driver.report()).toEqual({ Installed: [], Deprecated: [], Revoked: [] });
    expect(d.reports()).toHaveLength(before);
    expect(d.incidents()).toEqual([expect.objectContaining({ kind: 'command_refused', subject: 'nco.dev.12.cmd.install' })]);
  });

  it('refuses an unstamped template and a file that is not a module', async () => {
    const d = await device();
    expect((await d.send('install', installCommand(templateKo(), 513))).error).toEqual({
      code: 'invalid_request',
      message: 'artifact is an unstamped template (module id 0 in its NCO block)',
    });
    const elfless = Buffer.from('#!/bin/sh\nrm -rf /\n');
    expect((await d.send('install', installCommand(elfless, 513))).error.message).toMatch(/^not a valid kernel module: no ELF magic/);
  });

  it('refuses a module whose priority is taken, or another artifact under a loaded id (conflict)', async () => {
    const d = await device();
    await d.send('install', installCommand(stampedKo({ moduleId: 513, priority: 40 }), 513));
    expect((await d.send('install', installCommand(stampedKo({ moduleId: 514, priority: 40 }), 514))).error).toEqual({
      code: 'conflict',
      message: 'priority 40 is already held by module 513',
    });
    const rebuilt = stampedKo({ moduleId: 513, priority: 41, hexKey: testKey(513, 1) });
    expect((await d.send('install', installCommand(rebuilt, 513))).error).toEqual({
      code: 'conflict',
      message: 'module 513 is already loaded (from another artifact); revoke it first',
    });
    expect((await d.driver.report()).Installed.map((m) => m.ID)).toEqual([513]);
  });

  it('a repeated install of the same artifact answers Result 1 without reloading', async () => {
    const d = await device();
    const cmd = installCommand(stampedKo({ moduleId: 513 }), 513);
    await d.send('install', cmd);
    const loadedAt = (await d.driver.report()).Installed[0].ts;
    d.tick(60_000);
    expect(await d.send('install', cmd)).toEqual({ ID: 513, Result: 1 });
    expect((await d.driver.report()).Installed).toEqual([{ ID: 513, Activated: 1, Count: 0, ts: loadedAt }]);
    expect(d.logLines.some((l) => l.includes('module already installed'))).toBe(true);
  });

  it('relays toggle, priority and deprecate: Result 1 with a change report, Result 0 when the core refuses', async () => {
    const d = await device();
    await d.send('install', installCommand(stampedKo({ moduleId: 513, priority: 40 }), 513));
    await d.send('install', installCommand(stampedKo({ moduleId: 600, priority: 50 }), 600));
    const n = () => d.reports().length;

    let before = n();
    expect(await d.send('toggle', { moduleId: 513, mode: 0 })).toEqual({ ID: 513, Result: 1 });
    expect(n()).toBe(before + 1);
    expect(d.lastReport().kernel.Installed[0]).toMatchObject({ ID: 513, Activated: 0 });

    before = n();
    expect(await d.send('priority', { moduleId: 513, priority: 45 })).toEqual({ ID: 513, Result: 1 });
    expect(d.driver.inspect(513)?.priority).toBe(45);
    expect(n()).toBe(before + 1);

    before = n();
    expect(await d.send('priority', { moduleId: 513, priority: 50 })).toEqual({ ID: 513, Result: 0 }); // 600 holds 50
    expect(await d.send('toggle', { moduleId: 99, mode: 1 })).toEqual({ ID: 99, Result: 0 });
    expect(await d.send('deprecate', { moduleId: 99 })).toEqual({ ID: 99, Result: 0 });
    expect(n()).toBe(before); // a refusal changes nothing, so no change report

    expect(await d.send('deprecate', { moduleId: 513 })).toEqual({ ID: 513, Result: 1 });
    expect(d.lastReport().kernel).toMatchObject({ Installed: [{ ID: 600 }], Deprecated: [{ ID: 513, Activated: 0 }] });

    // The contract refuses what the core could not take at all.
    expect((await d.send('toggle', { moduleId: 513, mode: 2 })).error.code).toBe('invalid_message');
    expect((await d.send('priority', { moduleId: 513, priority: 0 })).error.code).toBe('invalid_message');
  });

  it('revokes: the module moves to Revoked with a ts and a change report; a repeat, or a module not on the device, answers Result 1', async () => {
    const d = await device();
    await d.send('install', installCommand(stampedKo({ moduleId: 513 }), 513));
    d.tick(5_000);
    expect(await d.send('revoke', { moduleId: 513 })).toEqual({ ID: 513, Result: 1 });
    expect(d.lastReport()).toMatchObject({ reason: 'change', kernel: { Installed: [], Revoked: [{ ID: 513, ts: 1_764_000_005 }] } });
    expect(await d.send('revoke', { moduleId: 513 })).toEqual({ ID: 513, Result: 1 });
    expect((await d.driver.report()).Revoked).toEqual([{ ID: 513, ts: 1_764_000_005 }]);
    expect(await d.send('revoke', { moduleId: 7 })).toEqual({ ID: 7, Result: 1 });
  });

  it('runs one device’s commands in arrival order (install then revoke sent together)', async () => {
    const d = await device();
    // A slow load: without ordering, the revoke would find nothing to remove yet.
    const load = d.driver.install.bind(d.driver);
    jest.spyOn(d.driver, 'install').mockImplementation(async (...args) => {
      await new Promise((r) => setTimeout(r, 30));
      return load(...args);
    });
    const cmd = installCommand(stampedKo({ moduleId: 513 }), 513);
    const [installed, revoked] = await Promise.all([d.send('install', cmd), d.send('revoke', { moduleId: 513 })]);
    expect(installed).toEqual({ ID: 513, Result: 1 });
    expect(revoked).toEqual({ ID: 513, Result: 1 });
    expect((await d.driver.report()).Revoked.map((m) => m.ID)).toEqual([513]);
  });

  describe('with a state dir', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dca-agent-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps installs, keys, params and revocations across an agent restart', async () => {
      const statePath = join(dir, 'kernel.json');
      const a = await device(statePath);
      const cmd = installCommand(stampedKo({ moduleId: 513, priority: 40 }), 513, { dst_port: 53 });
      await a.send('install', cmd);
      await a.send('install', installCommand(stampedKo({ moduleId: 600, priority: 50 }), 600));
      await a.send('toggle', { moduleId: 513, mode: 0 });
      await a.send('revoke', { moduleId: 600 });
      await a.agent.stop();
      const before = await a.driver.report();

      const b = await device(statePath);
      expect(b.reports()[0]).toMatchObject({ reason: 'checkin', kernel: before });
      expect(b.driver.inspect(513)).toMatchObject({ priority: 40, activated: 0, params: { dst_port: 53 }, hasKey: true });
      expect(await b.send('install', cmd)).toEqual({ ID: 513, Result: 1 });
      expect(await b.send('revoke', { moduleId: 600 })).toEqual({ ID: 600, Result: 1 });
      expect((await b.send('install', installCommand(stampedKo({ moduleId: 700, priority: 40 }), 700))).error.code).toBe('conflict');
    });
  });
});
