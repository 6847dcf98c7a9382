import { KernelReport } from '@nco/events';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stampedKo, templateKo, testKey } from '../testing/stamped-artifacts';
import { checkChallengeAnswer, encryptChallenge } from './challenge';
import { DriverError } from './driver';
import { MAX_REVOKED, SimulatedDriver } from './simulated.driver';

const ko = (moduleId: number, vars: Parameters<typeof stampedKo>[0] | object = {}) => stampedKo({ moduleId, ...vars });
const opts = (moduleId: number, params = {}) => ({ moduleId, params });

describe('SimulatedDriver', () => {
  let clock: number;
  let driver: SimulatedDriver;
  const now = () => clock;

  beforeEach(() => {
    clock = 1_764_000_000_500;
    driver = new SimulatedDriver({ now });
  });

  it('reports installed modules in the kernel core format, validated by the contract', async () => {
    expect(await driver.install(ko(7), opts(7))).toBe('installed');
    clock += 1_250;
    await driver.install(ko(3, { activate: 0, priority: 9 }), opts(3));
    const report = await driver.report();
    expect(report).toEqual({
      Installed: [
        { ID: 3, Activated: 0, Count: 0, ts: 1_764_000_001.75 },
        { ID: 7, Activated: 1, Count: 0, ts: 1_764_000_000.5 },
      ],
      Deprecated: [],
      Revoked: [],
    });
    expect(KernelReport.parse(report)).toEqual(report);
    expect(driver.inspect(3)).toMatchObject({ priority: 9, activated: 0, applyNow: false, hasKey: true });
  });

  it('learns id, key, active mode, priority and applyNow from the NCO block, not from the options', async () => {
    const artifact = ko(513, { activate: 0, priority: 4000, applyNow: true, hexKey: testKey(513, 9) });
    await driver.install(artifact, opts(513, { dst_port: 53, dst_addr: '10.0.0.1' }));
    expect(driver.inspect(513)).toMatchObject({
      id: 513,
      activated: 0,
      priority: 4000,
      applyNow: true,
      sha256: createHash('sha256').update(artifact).digest('hex'),
      size: artifact.length,
      params: { dst_port: 53, dst_addr: '10.0.0.1' },
    });
    // The key is kept but never shown.
    expect(JSON.stringify(driver.inspect(513))).not.toContain(testKey(513, 9));
  });

  it('refuses an artifact for another module, a template, garbage and bad parameters, changing nothing', async () => {
    await expect(driver.install(ko(5), opts(6))).rejects.toThrow(new DriverError('artifact is for module 5, not 6'));
    await expect(driver.install(templateKo(), opts(6))).rejects.toThrow('artifact is an unstamped template');
    await expect(driver.install(Buffer.alloc(0), opts(6))).rejects.toThrow('artifact is empty');
    await expect(driver.install(Buffer.from('\x7fELF fake module'), opts(6))).rejects.toThrow(/not a valid kernel module/);
    await expect(driver.install(ko(6), opts(6, { 'bad name': 1 }))).rejects.toThrow('is not a C identifier');
    await expect(driver.install(ko(6), opts(6, { tag: 'a b' }))).rejects.toThrow('without spaces, quotes or backslashes');
    await expect(driver.install(ko(6), opts(6, { priority: 3 }))).rejects.toThrow('is an NCO variable');
    await expect(driver.install(ko(6), opts(6, { n: 1.5 }))).rejects.toThrow('must be a safe integer');
    expect(await driver.report()).toEqual({ Installed: [], Deprecated: [], Revoked: [] });
  });

  it('refuses a second module under a loaded id or a taken priority; a repeat of the same artifact is unchanged', async () => {
    const first = ko(1, { priority: 10 });
    await driver.install(first, opts(1));
    clock += 5_000;
    expect(await driver.install(Buffer.from(first), opts(1))).toBe('unchanged');
    expect((await driver.report()).Installed).toEqual([{ ID: 1, Activated: 1, Count: 0, ts: 1_764_000_000.5 }]);
    const other = ko(1, { priority: 11, hexKey: testKey(1, 2) });
    await expect(driver.install(other, opts(1))).rejects.toMatchObject({ message: 'module 1 is already loaded (from another artifact); revoke it first', code: 'conflict' });
    await expect(driver.install(ko(2, { priority: 10 }), opts(2))).rejects.toMatchObject({ message: 'priority 10 is already held by module 1', code: 'conflict' });
    // A deprecated module still holds its priority (it is still registered with the core).
    await driver.deprecate(1);
    await expect(driver.install(ko(2, { priority: 10 }), opts(2))).rejects.toThrow('priority 10 is already held by module 1');
    expect((await driver.report()).Installed).toEqual([]);
  });

  it('toggles the active mode: an inactive module takes no new socket', async () => {
    await driver.install(ko(5), opts(5));
    expect(driver.openSocket(5)).toBe(true);
    expect(await driver.toggle(5, 0)).toEqual({ ID: 5, Result: 1 });
    expect(driver.openSocket(5)).toBe(false);
    expect(await driver.toggle(5, 1)).toEqual({ ID: 5, Result: 1 });
    expect(driver.openSocket(5)).toBe(true);
    expect((await driver.report()).Installed[0]).toMatchObject({ ID: 5, Activated: 1, Count: 2 });
    expect(await driver.toggle(99, 1)).toEqual({ ID: 99, Result: 0 });
    await expect(driver.toggle(5, 2 as 0)).rejects.toThrow('mode must be 0 or 1');
  });

  it('sets the priority, answering Result 0 for an unknown module or a priority another module holds', async () => {
    await driver.install(ko(5), opts(5));
    await driver.install(ko(6), opts(6));
    expect(await driver.setPriority(5, 42)).toEqual({ ID: 5, Result: 1 });
    expect(driver.inspect(5)?.priority).toBe(42);
    expect(await driver.setPriority(5, 42)).toEqual({ ID: 5, Result: 1 });
    expect(await driver.setPriority(6, 42)).toEqual({ ID: 6, Result: 0 });
    expect(driver.inspect(6)?.priority).toBe(6);
    expect(await driver.setPriority(7, 1)).toEqual({ ID: 7, Result: 0 });
    await expect(driver.setPriority(5, 1.5)).rejects.toThrow('priority must be an integer in 1..65534');
  });

  it('deprecates: sockets already using the module stay, no new socket picks it up', async () => {
    await driver.install(ko(8), opts(8));
    driver.openSocket(8);
    driver.openSocket(8);
    clock += 3_000;
    expect(await driver.deprecate(8)).toEqual({ ID: 8, Result: 1 });
    expect(driver.openSocket(8)).toBe(false);
    expect(await driver.report()).toEqual({
      Installed: [],
      Deprecated: [{ ID: 8, Activated: 1, Count: 2, ts: 1_764_000_003.5 }],
      Revoked: [],
    });
    expect(driver.closeSocket(8)).toBe(true);
    expect((await driver.report()).Deprecated[0].Count).toBe(1);
    expect(await driver.deprecate(8)).toEqual({ ID: 8, Result: 1 });
    expect(await driver.deprecate(9)).toEqual({ ID: 9, Result: 0 });
  });

  it('remove (revoke) moves an installed or deprecated module to Revoked with the time; a repeat is already-revoked', async () => {
    await driver.install(ko(1), opts(1));
    await driver.install(ko(2), opts(2));
    driver.openSocket(1);
    await driver.deprecate(2);
    clock += 2_000;
    expect(await driver.remove(1)).toBe('removed');
    clock += 1_000;
    expect(await driver.remove(2)).toBe('removed');
    expect(await driver.report()).toEqual({ Installed: [], Deprecated: [], Revoked: [{ ID: 1, ts: 1_764_000_002.5 }, { ID: 2, ts: 1_764_000_003.5 }] });
    clock += 1_000;
    expect(await driver.remove(1)).toBe('already-revoked');
    expect((await driver.report()).Revoked[0]).toEqual({ ID: 1, ts: 1_764_000_002.5 });
    expect(await driver.remove(3)).toBe('absent');
    // The priority is free again, and a new load under a revoked id replaces its record.
    await driver.install(ko(1, { hexKey: testKey(1, 5) }), opts(1));
    expect(await driver.report()).toMatchObject({ Installed: [{ ID: 1 }], Revoked: [{ ID: 2 }] });
  });

  it('moves a module the core revokes to Revoked; the NCO revoke that follows succeeds', async () => {
    await driver.install(ko(4), opts(4));
    driver.setSocketCount(4, 12);
    clock += 10_000;
    driver.revokeLocally(4);
    expect(await driver.report()).toEqual({ Installed: [], Deprecated: [], Revoked: [{ ID: 4, ts: 1_764_000_010.5 }] });
    expect(driver.openSocket(4)).toBe(false);
    expect(await driver.toggle(4, 1)).toEqual({ ID: 4, Result: 0 });
    expect(await driver.remove(4)).toBe('already-revoked');
    expect((await driver.report()).Revoked).toEqual([{ ID: 4, ts: 1_764_000_010.5 }]);
    expect(() => driver.revokeLocally(4)).toThrow('module 4 is not loaded');
  });

  it('keeps at most MAX_REVOKED revocation records, dropping the oldest', async () => {
    for (let id = 1; id <= MAX_REVOKED + 2; id++) {
      driver.forceInstall(id);
      clock += 1;
      await driver.remove(id);
    }
    const revoked = (await driver.report()).Revoked;
    expect(revoked).toHaveLength(MAX_REVOKED);
    expect(revoked[0].ID).toBe(3);
  });

  it('forceInstall emulates a module the NCO never built, under the core rules', async () => {
    driver.forceInstall(900, { count: 3 });
    expect((await driver.report()).Installed).toEqual([{ ID: 900, Activated: 1, Count: 3, ts: 1_764_000_000.5 }]);
    expect(driver.inspect(900)).toMatchObject({ forced: true, priority: 65534, hasKey: false });
    expect(() => driver.forceInstall(900)).toThrow('already loaded');
    driver.forceInstall(901);
    expect(driver.inspect(901)?.priority).toBe(65533);
    expect(() => driver.forceInstall(902, { priority: 65533 })).toThrow('priority 65533 is already held by module 901');
  });

  it('counts sockets: close never goes below zero, counts must be whole', async () => {
    await driver.install(ko(1), opts(1));
    expect(driver.closeSocket(1)).toBe(false);
    driver.setSocketCount(1, 5);
    expect(driver.closeSocket(1)).toBe(true);
    expect((await driver.report()).Installed[0].Count).toBe(4);
    expect(() => driver.setSocketCount(1, -1)).toThrow('non-negative integer');
    expect(() => driver.setSocketCount(2, 1)).toThrow('module 2 is not loaded');
  });

  describe('challenge', () => {
    const key = (id: number) => Buffer.from(testKey(id), 'hex');

    it('answers with the 8 bytes followed by the module id in ASCII, under a fresh IV', async () => {
      await driver.install(ko(513), opts(513));
      const iv = randomBytes(16);
      const nonce = randomBytes(8);
      const a = await driver.challenge(513, iv, encryptChallenge(key(513), iv, nonce));
      expect(a.IV).toMatch(/^[0-9a-f]{32}$/);
      expect(a.IV).not.toBe(iv.toString('hex'));
      expect(a.Response).toMatch(/^[0-9a-f]{32}$/); // 8 + 3 bytes + PKCS#7 = one block
      expect(checkChallengeAnswer(key(513), nonce, 513, a)).toBe(true);
      expect(checkChallengeAnswer(key(513), nonce, 514, a)).toBe(false);
      expect(checkChallengeAnswer(key(514), nonce, 513, a)).toBe(false);
      const b = await driver.challenge(513, iv, encryptChallenge(key(513), iv, nonce));
      expect(b.IV).not.toBe(a.IV);
    });

    it('refuses a challenge under another key, of the wrong size, or for a module without a key', async () => {
      await driver.install(ko(7), opts(7));
      const iv = randomBytes(16);
      // Under the wrong key the padding check fails (or, 1 time in 256, the length is wrong).
      await expect(driver.challenge(7, iv, encryptChallenge(key(8), iv, randomBytes(8)))).rejects.toThrow(/challenge for module 7 (does not decrypt|decrypts to)/);
      await expect(driver.challenge(7, iv, encryptChallenge(key(7), iv, randomBytes(16)))).rejects.toThrow('challenge msg must be 16 bytes');
      await expect(driver.challenge(7, iv, encryptChallenge(key(7), iv, randomBytes(4)))).rejects.toThrow('decrypts to 4 bytes, not 8');
      await expect(driver.challenge(7, randomBytes(8), randomBytes(16))).rejects.toThrow('challenge iv must be 16 bytes');
      await expect(driver.challenge(8, iv, randomBytes(16))).rejects.toMatchObject({ code: 'not_found' });
      driver.forceInstall(900);
      await expect(driver.challenge(900, iv, randomBytes(16))).rejects.toThrow('module 900 has no key');
    });
  });

  describe('state file', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dca-sim-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('survives a restart: every list, mode, priority, count, timestamp, key and parameter', async () => {
      const statePath = join(dir, 'nested', 'kernel.json');
      const a = await SimulatedDriver.open({ statePath, now });
      await a.install(ko(1, { priority: 30 }), opts(1, { dst_port: 53 }));
      await a.install(ko(2), opts(2));
      await a.install(ko(3), opts(3));
      await a.install(ko(4), opts(4));
      a.setSocketCount(1, 6);
      await a.toggle(1, 0);
      await a.deprecate(2);
      a.revokeLocally(3);
      await a.remove(4);
      a.forceInstall(77);
      await a.flush();
      const before = await a.report();

      const b = await SimulatedDriver.open({ statePath, now });
      expect(await b.report()).toEqual(before);
      expect(b.inspect(1)).toMatchObject({ priority: 30, activated: 0, count: 6, params: { dst_port: 53 }, hasKey: true });
      expect(b.inspect(77)?.forced).toBe(true);
      // The key came back: the restarted core still answers challenges.
      const iv = randomBytes(16);
      const nonce = randomBytes(8);
      const answer = await b.challenge(1, iv, encryptChallenge(Buffer.from(testKey(1), 'hex'), iv, nonce));
      expect(checkChallengeAnswer(Buffer.from(testKey(1), 'hex'), nonce, 1, answer)).toBe(true);
      // A repeat install after the restart is still recognised, a repeat revoke still succeeds.
      expect(await b.install(ko(2), opts(2))).toBe('unchanged');
      expect(await b.remove(4)).toBe('already-revoked');
      // Written atomically and readable by the owner only (it holds the module keys).
      expect(readdirSync(join(dir, 'nested'))).toEqual(['kernel.json']);
      expect(statSync(statePath).mode & 0o777).toBe(0o600);
    });

    it('starts empty without a file and refuses a file that is not a kernel state', async () => {
      const statePath = join(dir, 'kernel.json');
      expect(await (await SimulatedDriver.open({ statePath })).report()).toEqual({ Installed: [], Deprecated: [], Revoked: [] });
      writeFileSync(statePath, '{"v":1,"modules":"nope"}');
      await expect(SimulatedDriver.open({ statePath })).rejects.toThrow(/is not a kernel state/);
    });

    it('reads a state file written before keys were kept', async () => {
      const statePath = join(dir, 'kernel.json');
      const old = { id: 5, deprecated: false, activated: 1, priority: 5, count: 0, ts: 1, sha256: 'ab', params: {} };
      writeFileSync(statePath, JSON.stringify({ v: 1, modules: [old], revoked: [] }));
      const d = await SimulatedDriver.open({ statePath });
      expect(d.inspect(5)).toMatchObject({ applyNow: false, hasKey: false });
    });

    it('coalesces a burst of changes and ends with the latest state on disk', async () => {
      const statePath = join(dir, 'kernel.json');
      const d = await SimulatedDriver.open({ statePath, now });
      await d.install(ko(1), opts(1));
      for (let i = 0; i < 200; i++) d.openSocket(1);
      await d.flush();
      expect(JSON.parse(readFileSync(statePath, 'utf8')).modules[0].count).toBe(200);
    });
  });
});
