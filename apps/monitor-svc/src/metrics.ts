import { counter, gauge, histogram } from '@nco/runtime';

/** The monitor's Prometheus metrics (registered once per process, shared by its providers). */
export const monitorMetrics = () => ({
  reports: counter('nco_monitor_reports_total', 'Reports handled, by outcome: applied, stale, superseded, unknown_host', ['outcome']),
  refused: counter('nco_monitor_reports_refused_total', 'Report messages refused as malformed, by reason', ['reason']),
  batchSize: histogram('nco_monitor_batch_size', 'Reports per applied batch', [], [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000]),
  batchSeconds: histogram(
    'nco_monitor_batch_duration_seconds',
    'Time to apply one batch (transaction and events)',
    [],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  ),
  batchFailures: counter('nco_monitor_batch_failures_total', 'Batches whose transaction failed, by handling: retried, split', ['handling']),
  findings: counter('nco_monitor_findings_total', 'Reconciliation findings, by kind', ['kind']),
  eventFailures: counter('nco_monitor_event_publish_failures_total', 'Events that could not be stored in NCO_EVENTS'),
  hosts: gauge('nco_monitor_hosts', 'Hosts in the CIB by liveness', ['state']),
  liveness: counter('nco_monitor_liveness_changes_total', 'Hosts that went online or offline', ['to']),
});

export type MonitorMetrics = ReturnType<typeof monitorMetrics>;
