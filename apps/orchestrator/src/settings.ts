import { env, serviceSettings } from '@nco/runtime';
import { HostIdMode } from '@nco/events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const OrchestratorSettings = serviceSettings(3001).extend({
  /** How new hosts get their id: random, sequential, or the last octet of their IPv4 address. */
  HOST_ID_MODE: HostIdMode.default('sequential'),
  /** How often each DCA reports; told to the DCA at check-in. */
  REPORT_INTERVAL_MS: env.int(100, 3_600_000).default(5000),
  CHECKIN_BATCH_SIZE: env.int(1, 10_000).default(500),
  CHECKIN_BATCH_WAIT_MS: env.int(0, 1000).default(5),
  /** How often running rotations are advanced. */
  ROTATE_TICK_MS: env.int(50, 600_000).default(1000),
  /** Device identity at check-in (docs/security.md): `optional` accepts DCAs without one (unless their MAC enrolled one); `required` refuses them. */
  DEVICE_IDENTITY: z.enum(['optional', 'required']).default('optional'),
  /** Bootstrap token: a DCA proving it (DCA_ENROLL_TOKEN) is approved at its first check-in; without it an operator approves. */
  NCO_ENROLL_TOKEN: z.string().min(16).optional(),
  /** A signed check-in must be issued within this many ms of the NCO's clock. */
  CHECKIN_MAX_SKEW_MS: env.int(1000, 3_600_000).default(300_000),
  /** The `npm run nats-auth -- init` directory: issue each enrolled device its NATS JWT, push revocations (docs/security.md, "NATS permissions"). */
  NATS_AUTH_DIR: z
    .string()
    .min(1)
    .refine((dir) => existsSync(join(dir, 'nats-auth.json')), { message: 'no nats-auth.json there: run `npm run nats-auth -- init <dir>` first' })
    .optional(),
});

export type OrchestratorConfig = z.infer<typeof OrchestratorSettings>;
