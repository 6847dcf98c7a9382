import { env, HttpSettings, LoggingSettings, NatsSettings } from '@nco/runtime';
import { z } from 'zod';

/** The dashboard needs NATS only: no database, no Redis (it reads the CIB through operator queries). */
export const DashboardSettings = LoggingSettings.extend(NatsSettings.shape)
  .extend(HttpSettings.shape)
  .extend({
    /** `npm start` sets it from DASHBOARD_PORT (default 3000). */
    HTTP_PORT: env.int(0, 65535).default(3000),
    /** Events of this long ago are replayed at start to fill the charts and lists (0 = only new ones). */
    DASHBOARD_REPLAY_MS: env.int(0, 7 * 24 * 3600_000).default(3_600_000),
    /** How often collected stream messages are pushed to the pages. */
    DASHBOARD_PUSH_MS: env.int(50, 10_000).default(500),
    /** Hosts listed in the fleet table, at most one hosts.list page (the counts cover the whole fleet). */
    DASHBOARD_HOSTS_LIMIT: env.int(1, 2000).default(1000),
    /** Chart resolution and span: 10 s buckets over an hour by default. */
    DASHBOARD_BUCKET_MS: env.int(1000, 3_600_000).default(10_000),
    DASHBOARD_BUCKETS: env.int(10, 1000).default(360),
    /** Open pages at most; more get 503 (each one is a long-lived HTTP response). */
    DASHBOARD_MAX_CLIENTS: env.int(1, 10_000).default(200),
    /** `user:password`: HTTP basic authentication on the page and its API (health and metrics stay open for probes). */
    DASHBOARD_BASIC_AUTH: z.string().regex(/^[^:\s]+:\S{8,}$/, 'expected user:password, the password at least 8 characters').optional(),
  });
export type DashboardConfig = z.infer<typeof DashboardSettings>;
