import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DriverError } from './driver';
import { SimulatedDriver } from './simulated.driver';
import { DEFAULT_SYMVERS_FILE, symversFromFile } from './symvers-file';

describe('Module.symvers of the simulated core', () => {
  it('defaults to the recorded symvers of the core stub', async () => {
    const driver = new SimulatedDriver({ symvers: symversFromFile() });
    const content = (await driver.symvers()).toString('utf8');
    expect(DEFAULT_SYMVERS_FILE).toBe('modules/core/Module.symvers.recorded');
    expect(content).toContain('l45_register_customization');
  });

  it('reads once and shares the bytes; a failed read names the file and is retried later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dca-symvers-'));
    try {
      const path = join(dir, 'Module.symvers');
      const load = symversFromFile(path);
      await expect(load()).rejects.toThrow(new DriverError(`Module.symvers cannot be read from ${path}: ENOENT`));
      writeFileSync(path, '0x1\tsym\tvmlinux\tEXPORT_SYMBOL\t\n');
      const a = await load();
      writeFileSync(path, 'changed');
      expect(await load()).toBe(a);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a core without symvers says so', async () => {
    await expect(new SimulatedDriver().symvers()).rejects.toThrow('this simulated core has no Module.symvers');
  });
});
