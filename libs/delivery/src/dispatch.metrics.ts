import { counter, histogram } from '@nco/runtime';

/** Metrics of the device-work dispatchers (registered once per process, shared by deploy-svc and revoke-svc). */
export const dispatchMetrics = () => ({
  commands: counter(
    'nco_device_commands_total',
    'Device commands and installs carried, by kind and outcome: done, refused, mismatch, gone, invalid, transient',
    ['kind', 'outcome'],
  ),
  batchSeconds: histogram(
    'nco_dispatch_batch_duration_seconds',
    'Time to claim, send and settle one batch',
    ['dispatcher'],
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  ),
  batchSize: histogram('nco_dispatch_batch_size', 'Rows per claimed batch', ['dispatcher'], [1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000]),
  requeued: counter('nco_dispatch_requeued_total', "Rows put back by the sweep ('sent' without an answer, or an install not confirmed)", ['dispatcher']),
  settleFailures: counter('nco_dispatch_settle_failures_total', 'Settles that failed and were retried', ['dispatcher']),
});

export type DispatchMetrics = ReturnType<typeof dispatchMetrics>;
