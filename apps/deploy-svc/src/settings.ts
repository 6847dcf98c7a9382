import { serviceSettings } from '@nco/runtime';
import { z } from 'zod';

export const DeploySettings = serviceSettings(3003);
export type DeployConfig = z.infer<typeof DeploySettings>;
