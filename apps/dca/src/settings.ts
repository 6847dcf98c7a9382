import { KernelRelease, MacAddress, MiddleboxType } from '@nco/events';
import { networkInterfaces, release } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_SYMVERS_FILE } from './driver/symvers-file';
import { ConfigError, loadConfig, LoggingSettings, NatsSettings } from './runtime';
import { DcaSecuritySettings } from './security/settings';

export const DcaSettings = LoggingSettings.extend(NatsSettings.shape).extend(DcaSecuritySettings.shape).extend({
  /** Identity of the device; defaults to the MAC of the first non-internal interface. */
  DCA_MAC: MacAddress.optional(),
  /** Kernel release reported at check-in; defaults to the running kernel's. */
  DCA_RELEASE: KernelRelease.optional(),
  DCA_DRIVER: z.enum(['simulated', 'linux']).default('simulated'),
  /** Where the simulated kernel keeps its state; defaults to `.dca-state/<mac without colons>`. */
  DCA_STATE_DIR: z.string().min(1).optional(),
  DCA_MIDDLEBOX_TYPE: MiddleboxType.optional(),
  /** Middlebox mode: where inverse modules are kept as files; defaults to `<state dir>/inverse`. */
  DCA_INVERSE_DIR: z.string().min(1).optional(),
  DCA_IP: z.union([z.ipv4(), z.ipv6()]).optional(),
  /** Linux driver: where artifacts are written as `<moduleId>.ko` before insmod; defaults to `<state dir>/modules`. */
  DCA_MODULES_DIR: z.string().min(1).optional(),
  /** Linux driver: the netlink helper script; defaults to apps/dca/scripts/l45_netlink.py. */
  DCA_NETLINK_HELPER: z.string().min(1).optional(),
  /** Module.symvers of the core, handed to construct (relative to the working directory). */
  DCA_SYMVERS_FILE: z.string().min(1).default(DEFAULT_SYMVERS_FILE),
});

export type DcaConfig = z.infer<typeof DcaSettings> & { DCA_MAC: string; DCA_RELEASE: string; DCA_STATE_DIR: string; DCA_MODULES_DIR: string; DCA_INVERSE_DIR: string };

/** What the defaults are read from (tests hand in their own). */
export interface HostFacts {
  networkInterfaces: typeof networkInterfaces;
  release: () => string;
}

/** Validates the settings and fills the defaults that come from the machine. */
export function loadDcaConfig(env: NodeJS.ProcessEnv = process.env, host: HostFacts = { networkInterfaces, release }): DcaConfig {
  const c = loadConfig(DcaSettings, env);
  const mac = c.DCA_MAC ?? firstMac(host);
  if (!mac) throw new ConfigError(['DCA_MAC: not set, and no non-internal network interface has a MAC address']);
  let rel = c.DCA_RELEASE;
  if (!rel) {
    const parsed = KernelRelease.safeParse(host.release());
    if (!parsed.success) throw new ConfigError([`DCA_RELEASE: not set, and the kernel release ${JSON.stringify(host.release())} is not valid`]);
    rel = parsed.data;
  }
  const stateDir = c.DCA_STATE_DIR ?? join('.dca-state', mac.replace(/:/g, ''));
  return { ...c, DCA_MAC: mac, DCA_RELEASE: rel, DCA_STATE_DIR: stateDir, DCA_MODULES_DIR: c.DCA_MODULES_DIR ?? join(stateDir, 'modules'), DCA_INVERSE_DIR: c.DCA_INVERSE_DIR ?? join(stateDir, 'inverse') };
}

function firstMac(host: HostFacts): string | undefined {
  for (const addrs of Object.values(host.networkInterfaces())) {
    const a = addrs?.find((x) => !x.internal && x.mac && x.mac !== '00:00:00:00:00:00');
    if (a) return a.mac.toLowerCase();
  }
  return undefined;
}
