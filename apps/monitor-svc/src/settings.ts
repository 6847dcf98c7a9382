import { Consumers } from '@nco/events';
import { DatabaseSettings, env, HttpSettings, LoggingSettings, NatsSettings, ReportKeySettings } from '@nco/runtime';
import { z } from 'zod';

export const MonitorSettings = LoggingSettings.extend(NatsSettings.shape)
  .extend(DatabaseSettings.shape)
  .extend(HttpSettings.shape)
  .extend(ReportKeySettings.shape)
  .extend({
    HTTP_PORT: env.int(0, 65535).default(3005),
    /** Durable JetStream consumer the replicas share (tests and benches use their own). */
    REPORT_CONSUMER: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a consumer name of letters, digits, _ and -')
      .default(Consumers.monitorReports.durable),
    /** A batch is applied when this many reports are waiting… */
    REPORT_BATCH_SIZE: env.int(1, 10_000).default(1000),
    /** …or this long after its first report arrived, whichever comes first. */
    REPORT_BATCH_WAIT_MS: env.int(0, 1000).default(15),
    /** Batches applied at once (each in its own transaction); 2 overlaps decoding with the database. */
    REPORT_BATCH_CONCURRENCY: env.int(1, 8).default(2),
    /** A report pulled but not acked within this time (replica died) goes to another replica. */
    REPORT_ACK_WAIT_MS: env.int(1000, 600_000).default(30_000),
    /** Delay before a batch whose transaction failed is delivered again. */
    REPORT_RETRY_DELAY_MS: env.int(0, 600_000).default(2000),
    /** How often each DCA reports (the orchestrator tells the DCAs the same value). */
    REPORT_INTERVAL_MS: env.int(100, 3_600_000).default(5000),
    /** A host silent for this long is marked offline; must leave room for at least two missed reports. */
    OFFLINE_AFTER_MS: env.int(200, 86_400_000).default(15_000),
    LIVENESS_SWEEP_MS: env.int(100, 3_600_000).default(2000),
  })
  .refine((s) => s.OFFLINE_AFTER_MS >= 2 * s.REPORT_INTERVAL_MS, {
    path: ['OFFLINE_AFTER_MS'],
    message: 'must be at least 2 × REPORT_INTERVAL_MS, or hosts flap offline between two reports',
  });

export type MonitorConfig = z.infer<typeof MonitorSettings>;
