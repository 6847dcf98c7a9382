import { serviceSettings } from '@nco/runtime';
import { z } from 'zod';
import { DispatchSettingsShape, retryRange } from '@nco/delivery';

export const RevokeSettings = serviceSettings(3004).extend(DispatchSettingsShape).refine(retryRange.check, retryRange.params);
export type RevokeConfig = z.infer<typeof RevokeSettings>;
