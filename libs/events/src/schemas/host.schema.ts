import { z } from 'zod';
import { HostId } from '../envelope';
import { IsoTime, Labels } from './common.schema';

export const HostSummary = z.object({
  hostId: HostId,
  mac: z.string(),
  release: z.string(),
  ip: z.string().nullable(),
  middleboxType: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: IsoTime.nullable(),
  lastReportAt: IsoTime.nullable(),
  moduleCount: z.number().int().min(0),
  labels: z.record(z.string(), z.string()),
});
export type HostSummary = z.infer<typeof HostSummary>;

export const HostsListBody = z
  .object({
    online: z.boolean().optional(),
    hostIds: z.array(HostId).max(10_000).optional(),
    labels: Labels.optional(),
    limit: z.number().int().min(1).max(100_000).default(10_000),
    /** Paging: only hosts with a larger id (the previous page's `nextAfterHostId`). */
    afterHostId: z.number().int().min(0).optional(),
  })
  .strict();

/** Hosts per reply at most: one NATS message (1 MB) holds ~3,000 hosts with labels. */
export const HOSTS_PAGE_SIZE = 2_000;

export const HostsListReply = z.object({
  hosts: z.array(HostSummary),
  /** Every host matching the filter (all pages). */
  total: z.number().int(),
  /** Set when more hosts match within the limit: ask again with `afterHostId` set to it. */
  nextAfterHostId: z.number().int().optional(),
});
