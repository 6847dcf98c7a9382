import { join } from 'node:path';
import { Driver, DriverError } from './driver';
import { LinuxDriver } from './linux.driver';
import { HelperNetlinkTransport } from './netlink-transport';
import { SimulatedDriver } from './simulated.driver';
import { symversFromFile } from './symvers-file';

/** The driver could not start (Linux: not root, no netlink socket): the DCA exits with this message. */
export class DriverStartError extends Error {}

export interface CreateDriverOptions {
  stateDir: string;
  symversFile?: string;
  /** Linux: where artifacts are written (default `<stateDir>/modules`). */
  modulesDir?: string;
  /** Linux: the netlink helper script (default: apps/dca/scripts/l45_netlink.py). */
  netlinkHelper?: string;
  /** Linux: the effective uid check (tests hand in their own). */
  geteuid?: () => number;
}

/** The driver DCA_DRIVER names, with its state under `stateDir`. */
export async function createDriver(kind: 'simulated' | 'linux', o: CreateDriverOptions): Promise<Driver> {
  const symvers = symversFromFile(o.symversFile);
  if (kind === 'simulated') return SimulatedDriver.open({ statePath: join(o.stateDir, 'kernel.json'), symvers });
  const euid = (o.geteuid ?? process.geteuid)?.();
  if (euid !== undefined && euid !== 0) {
    throw new DriverStartError(`DCA_DRIVER=linux needs root (insmod and rmmod need CAP_SYS_MODULE); running as uid ${euid}`);
  }
  let transport: HelperNetlinkTransport;
  try {
    transport = await HelperNetlinkTransport.open({ script: o.netlinkHelper });
  } catch (e) {
    if (e instanceof DriverError) throw new DriverStartError(`DCA_DRIVER=linux: ${e.message}`);
    throw e;
  }
  try {
    return await LinuxDriver.open({
      transport,
      modulesDir: o.modulesDir ?? join(o.stateDir, 'modules'),
      statePath: join(o.stateDir, 'modules.json'),
      symvers,
    });
  } catch (e) {
    await transport.close();
    if (e instanceof DriverError) throw new DriverStartError(`DCA_DRIVER=linux: ${e.message}`);
    throw e;
  }
}
