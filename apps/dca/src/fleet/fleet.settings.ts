import { KernelRelease } from '@nco/events';
import { z } from 'zod';
import { DEFAULT_SYMVERS_FILE } from '../driver/symvers-file';
import { LoggingSettings, NatsSettings } from '../runtime';
import { DcaSecuritySettings } from '../security/settings';
import { MAX_FLEET_DEVICES, parseMiddleboxes } from './fleet-macs';

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const FleetSettings = LoggingSettings.extend(NatsSettings.shape).extend(DcaSecuritySettings.shape).extend({
  FLEET_SIZE: count(0, MAX_FLEET_DEVICES).default(3),
  FLEET_RELEASE: KernelRelease.default('6.1.0-sim-amd64'),
  FLEET_MAC_PREFIX: z
    .string()
    .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){2}$/, 'expected three octets like 02:00:00')
    .default('02:00:00'),
  /** Extra devices that check in as middleboxes: `wireshark:1,ids:1`. */
  FLEET_MIDDLEBOXES: z
    .string()
    .transform((v, ctx) => {
      try {
        return parseMiddleboxes(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  /** Keeps each device's simulated kernel state in a JSON file here, so it survives a restart. */
  FLEET_STATE_DIR: z.string().min(1).optional(),
  FLEET_CHECKIN_CONCURRENCY: count(1, 10_000).default(500),
  /** Secret (32+ bytes, base64 or hex) the devices' identity keys are derived from, with their MACs (docs/security.md). */
  FLEET_IDENTITY_SEED: z.string().min(32).optional(),
  /** `off`: devices without identities (no signed reports, artifacts in clear; only for comparisons and NCOs with DEVICE_IDENTITY=optional). */
  FLEET_IDENTITY: z.enum(['on', 'off']).default('on'),
  /** Module.symvers every simulated core hands to construct (relative to the working directory). */
  FLEET_SYMVERS_FILE: z.string().min(1).default(DEFAULT_SYMVERS_FILE),
});

export type FleetConfig = z.infer<typeof FleetSettings>;
