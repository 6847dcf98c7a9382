import { env, serviceSettings } from '@nco/runtime';
import { z } from 'zod';
import { DispatchSettingsShape, inFlightBoundMs, retryRange } from '@nco/delivery';

export const DeploySettings = serviceSettings(3003)
  .extend(DispatchSettingsShape)
  .extend({
    /**
     * An install the device accepted but no report confirmed within this time is sent again
     * (the device answers an identical install as unchanged). Must outlast a batch in flight.
     */
    INSTALL_CONFIRM_MS: env.int(1_000, 86_400_000).default(60_000),
  })
  .refine(retryRange.check, retryRange.params)
  .refine((c) => c.INSTALL_CONFIRM_MS >= inFlightBoundMs(c), {
    path: ['INSTALL_CONFIRM_MS'],
    message: 'must be at least COMMAND_TIMEOUT_MS × (ceil(DISPATCH_BATCH / DISPATCH_CONCURRENCY) + 1) + 5 s, or installs still in flight are sent twice',
  });
export type DeployConfig = z.infer<typeof DeploySettings>;
