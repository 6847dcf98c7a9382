import { serviceSettings } from '@nco/runtime';
import { z } from 'zod';

export const SecuritySettings = serviceSettings(3006);
export type SecurityConfig = z.infer<typeof SecuritySettings>;
