import { serviceSettings } from '@nco/runtime';
import { z } from 'zod';

export const ConstructSettings = serviceSettings(3002);
export type ConstructConfig = z.infer<typeof ConstructSettings>;
