import { join } from 'node:path';
import { Driver } from './driver';
import { SimulatedDriver } from './simulated.driver';
import { symversFromFile } from './symvers-file';

export class DriverNotImplementedError extends Error {}

/** The driver DCA_DRIVER names, with its state under `stateDir`. */
export async function createDriver(kind: 'simulated' | 'linux', stateDir: string, symversFile?: string): Promise<Driver> {
  if (kind === 'linux') {
    throw new DriverNotImplementedError('DCA_DRIVER=linux: the Linux driver is not implemented yet; use DCA_DRIVER=simulated');
  }
  return SimulatedDriver.open({ statePath: join(stateDir, 'kernel.json'), symvers: symversFromFile(symversFile) });
}
