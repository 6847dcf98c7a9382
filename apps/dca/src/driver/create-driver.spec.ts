import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDriver, DriverStartError } from './create-driver';
import { SimulatedDriver } from './simulated.driver';

describe('createDriver', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dca-create-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens the simulated core with its state under the state dir', async () => {
    const d = await createDriver('simulated', { stateDir: dir });
    expect(d).toBeInstanceOf(SimulatedDriver);
    expect(d.kind).toBe('simulated');
  });

  it('linux: refuses to start without root, naming why', async () => {
    await expect(createDriver('linux', { stateDir: dir, geteuid: () => 1000 })).rejects.toThrow(
      new DriverStartError('DCA_DRIVER=linux needs root (insmod and rmmod need CAP_SYS_MODULE); running as uid 1000'),
    );
  });

  it('linux: fails at start with a clear message when the netlink helper cannot be found', async () => {
    await expect(createDriver('linux', { stateDir: dir, geteuid: () => 0, netlinkHelper: join(dir, 'missing.py') })).rejects.toThrow(
      `DCA_DRIVER=linux: cannot open the Layer 4.5 netlink socket (protocol 25): the netlink helper ${join(dir, 'missing.py')} does not exist (set DCA_NETLINK_HELPER)`,
    );
  });
});
