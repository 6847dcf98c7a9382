import { serviceSettings } from '@nco/runtime';
import { z } from 'zod';

export const RevokeSettings = serviceSettings(3004);
export type RevokeConfig = z.infer<typeof RevokeSettings>;
