import { z } from 'zod';

export const MacAddress = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, 'expected a MAC address like 02:00:00:00:00:01')
  .transform((m) => m.toLowerCase());

export const KernelRelease = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._+~-]+$/, 'expected a kernel release like 6.1.0-27-amd64');

export const MiddleboxType = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a lower-case middlebox type like wireshark');

export const IsoTime = z.iso.datetime({ offset: true });

/** Host labels, used by selectors: short keys and values, bounded in number. */
export const Labels = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,62}$/), z.string().max(128))
  .refine((l) => Object.keys(l).length <= 32, 'at most 32 labels');
