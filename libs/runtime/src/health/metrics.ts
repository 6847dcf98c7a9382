import { natsMetrics } from '@nco/events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';

let started = false;

/** Process metrics plus the NATS connection counters, labelled with the service name. */
export function startDefaultMetrics(service: string): void {
  if (started) return;
  started = true;
  register.setDefaultLabels({ service });
  collectDefaultMetrics();
  // Counted by connectNats for every connection of the process; read when Prometheus scrapes.
  natsCounter('nco_nats_reconnects_total', 'NATS reconnections since the process started', () => natsMetrics.reconnects);
  natsCounter('nco_nats_disconnects_total', 'NATS connections lost since the process started', () => natsMetrics.disconnects);
}

function natsCounter(name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

/** Returns the metric registered under `name`, creating it once (safe across module re-inits in tests). */
export function counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
  return (register.getSingleMetric(name) as Counter<string>) ?? new Counter({ name, help, labelNames });
}

export function gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
  return (register.getSingleMetric(name) as Gauge<string>) ?? new Gauge({ name, help, labelNames });
}

export function histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram<string> {
  return (register.getSingleMetric(name) as Histogram<string>) ?? new Histogram({ name, help, labelNames, buckets });
}
