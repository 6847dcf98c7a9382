import { KernelReport } from '@nco/events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactReader } from './artifact-reader';
import { DriverError } from './driver';
import { SimulatedDriver } from './simulated.driver';

const ko = Buffer.from('\x7fELF fake module');

describe('SimulatedDriver', () => {
  let clock: number;
  let driver: SimulatedDriver;
  const now = () => clock;

  beforeEach(() => {
    clock = 1_764_000_000_500;
    driver = new SimulatedDriver({ now });
  });

  it('reports installed modules in the kernel core format, validated by the contract', async () => {
    await driver.install(ko, { moduleId: 7, params: {} });
    clock += 1_250;
    await driver.install(ko, { moduleId: 3, params: { activate: 0, priority: 9 } });
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
    expect(driver.inspect(3)).toMatchObject({ priority: 9, activated: 0 });
  });

  it('refuses a second load of the same id, an empty artifact, and bad parameters', async () => {
    await driver.install(ko, { moduleId: 1, params: {} });
    await expect(driver.install(ko, { moduleId: 1, params: {} })).rejects.toThrow(new DriverError('module 1 is already loaded'));
    await expect(driver.install(Buffer.alloc(0), { moduleId: 2, params: {} })).rejects.toThrow('artifact is empty');
    await expect(driver.install(ko, { moduleId: 70_000, params: {} })).rejects.toThrow('not in 1..65535');
    await expect(driver.install(ko, { moduleId: 2, params: { activate: 'maybe' } })).rejects.toThrow('activate must be 0 or 1');
    await expect(driver.install(ko, { moduleId: 2, params: { priority: 0 } })).rejects.toThrow('priority must be an integer in 1..65534');
    expect((await driver.report()).Installed.map((m) => m.ID)).toEqual([1]);
  });

  it('reads module id and parameters through the artifact reader seam', async () => {
    const stamped: ArtifactReader = (artifact) => ({ moduleId: artifact.readUInt16LE(0), params: { priority: 4 } });
    const d = new SimulatedDriver({ now, readArtifact: stamped });
    const artifact = Buffer.alloc(16);
    artifact.writeUInt16LE(513, 0);
    await d.install(artifact, { moduleId: 1, params: {} });
    expect(d.inspect(513)).toMatchObject({ id: 513, priority: 4 });
    expect(d.inspect(1)).toBeUndefined();
  });

  it('toggles the active mode: an inactive module takes no new socket', async () => {
    await driver.install(ko, { moduleId: 5, params: {} });
    expect(driver.openSocket(5)).toBe(true);
    expect(await driver.toggle(5, 0)).toEqual({ ID: 5, Result: 1 });
    expect(driver.openSocket(5)).toBe(false);
    expect(await driver.toggle(5, 1)).toEqual({ ID: 5, Result: 1 });
    expect(driver.openSocket(5)).toBe(true);
    expect((await driver.report()).Installed[0]).toMatchObject({ ID: 5, Activated: 1, Count: 2 });
    expect(await driver.toggle(99, 1)).toEqual({ ID: 99, Result: 0 });
    await expect(driver.toggle(5, 2 as 0)).rejects.toThrow('mode must be 0 or 1');
  });

  it('sets the priority, answering Result 0 for an unknown module', async () => {
    await driver.install(ko, { moduleId: 5, params: {} });
    expect(await driver.setPriority(5, 42)).toEqual({ ID: 5, Result: 1 });
    expect(driver.inspect(5)?.priority).toBe(42);
    expect(await driver.setPriority(6, 1)).toEqual({ ID: 6, Result: 0 });
    await expect(driver.setPriority(5, 1.5)).rejects.toThrow('priority must be an integer in 1..65534');
  });

  it('deprecates: sockets already using the module stay, no new socket picks it up', async () => {
    await driver.install(ko, { moduleId: 8, params: {} });
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

  it('moves a module the core revokes to Revoked with the time of revocation', async () => {
    await driver.install(ko, { moduleId: 4, params: {} });
    driver.setSocketCount(4, 12);
    clock += 10_000;
    driver.revokeLocally(4);
    expect(await driver.report()).toEqual({ Installed: [], Deprecated: [], Revoked: [{ ID: 4, ts: 1_764_000_010.5 }] });
    expect(driver.openSocket(4)).toBe(false);
    expect(await driver.toggle(4, 1)).toEqual({ ID: 4, Result: 0 });
    // The NCO's revoke then unloads it; the record goes with the module.
    await driver.remove(4);
    expect((await driver.report()).Revoked).toEqual([]);
    await expect(driver.remove(4)).rejects.toThrow('module 4 is not loaded');
    expect(() => driver.revokeLocally(4)).toThrow('module 4 is not loaded');
  });

  it('removes installed and deprecated modules with their sockets', async () => {
    await driver.install(ko, { moduleId: 1, params: {} });
    await driver.install(ko, { moduleId: 2, params: {} });
    driver.openSocket(1);
    await driver.deprecate(2);
    await driver.remove(1);
    await driver.remove(2);
    expect(await driver.report()).toEqual({ Installed: [], Deprecated: [], Revoked: [] });
  });

  it('forceInstall emulates a module the NCO never built', async () => {
    driver.forceInstall(900, { count: 3 });
    expect((await driver.report()).Installed).toEqual([{ ID: 900, Activated: 1, Count: 3, ts: 1_764_000_000.5 }]);
    expect(driver.inspect(900)?.forced).toBe(true);
    expect(() => driver.forceInstall(900)).toThrow('already loaded');
  });

  it('counts sockets: close never goes below zero, counts must be whole', async () => {
    await driver.install(ko, { moduleId: 1, params: {} });
    expect(driver.closeSocket(1)).toBe(false);
    driver.setSocketCount(1, 5);
    expect(driver.closeSocket(1)).toBe(true);
    expect((await driver.report()).Installed[0].Count).toBe(4);
    expect(() => driver.setSocketCount(1, -1)).toThrow('non-negative integer');
    expect(() => driver.setSocketCount(2, 1)).toThrow('module 2 is not loaded');
  });

  describe('state file', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dca-sim-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('survives a restart: every list, mode, priority, count and timestamp', async () => {
      const statePath = join(dir, 'nested', 'kernel.json');
      const a = await SimulatedDriver.open({ statePath, now });
      await a.install(ko, { moduleId: 1, params: { priority: 3, hexKey: 'ab'.repeat(32) } });
      await a.install(ko, { moduleId: 2, params: {} });
      await a.install(ko, { moduleId: 3, params: {} });
      a.setSocketCount(1, 6);
      await a.toggle(1, 0);
      await a.deprecate(2);
      a.revokeLocally(3);
      a.forceInstall(77);
      await a.flush();
      const before = await a.report();

      const b = await SimulatedDriver.open({ statePath, now });
      expect(await b.report()).toEqual(before);
      expect(b.inspect(1)).toMatchObject({ priority: 3, activated: 0, count: 6 });
      expect(b.inspect(77)?.forced).toBe(true);
      // Written atomically and readable by the owner only (parameters carry the module key).
      expect(readdirSync(join(dir, 'nested'))).toEqual(['kernel.json']);
      expect(statSync(statePath).mode & 0o777).toBe(0o600);
    });

    it('starts empty without a file and refuses a file that is not a kernel state', async () => {
      const statePath = join(dir, 'kernel.json');
      expect(await (await SimulatedDriver.open({ statePath })).report()).toEqual({ Installed: [], Deprecated: [], Revoked: [] });
      writeFileSync(statePath, '{"v":1,"modules":"nope"}');
      await expect(SimulatedDriver.open({ statePath })).rejects.toThrow(/is not a kernel state/);
    });

    it('coalesces a burst of changes and ends with the latest state on disk', async () => {
      const statePath = join(dir, 'kernel.json');
      const d = await SimulatedDriver.open({ statePath, now });
      await d.install(ko, { moduleId: 1, params: {} });
      for (let i = 0; i < 200; i++) d.openSocket(1);
      await d.flush();
      expect(JSON.parse(readFileSync(statePath, 'utf8')).modules[0].count).toBe(200);
    });
  });
});
