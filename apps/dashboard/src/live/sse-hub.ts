import type { ServerResponse } from 'node:http';
import { LiveItem } from './live-item';
import { SeriesPoint } from './live-state';

const MAX_BUFFERED = 8 * 1024 * 1024;

/** What one push carries to every page. */
export interface LiveBatch {
  items: LiveItem[];
  /** Reports received since the last push (all of them, including those not listed in `items`). */
  reports: number;
  /** The current and previous chart buckets, so charts move without a snapshot. */
  series: SeriesPoint[];
}

export interface SseClient {
  res: ServerResponse;
  /** Until the snapshot is written, pushes are held for this client (none lost, none before it). */
  held?: string[];
}

/**
 * Server-Sent Events to the open pages. Messages from the streams are collected and pushed
 * together every `pushMs`: events all, reports at most `maxReports` per push (the newest per host;
 * every report is still counted), so a fleet of 10,000 reporting hosts does not become 10,000
 * DOM updates a second in each browser.
 */
export class SseHub {
  private readonly clients = new Set<SseClient>();
  private events: LiveItem[] = [];
  private reports = new Map<number, LiveItem>();
  private reportCount = 0;
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly o: { pushMs: number; maxReports: number; maxEvents: number },
    private readonly series: () => SeriesPoint[],
  ) {}

  start(): void {
    this.timer = setInterval(() => this.flush(), this.o.pushMs);
    // Proxies close idle connections; a comment line every 15 s keeps the stream open.
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), 15_000);
    this.timer.unref();
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  push(item: LiveItem): void {
    if (item.kind === 'report') {
      this.reportCount++;
      if (item.hostId !== undefined) {
        this.reports.delete(item.hostId);
        this.reports.set(item.hostId, item);
      }
    } else {
      this.events.push(item);
    }
  }

  /** Opens the stream to a page; the returned function writes its snapshot and releases held pushes. */
  open(res: ServerResponse, onClose: () => void): (snapshot: unknown) => void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const client: SseClient = { res, held: [] };
    this.clients.add(client);
    res.on('close', () => {
      this.clients.delete(client);
      onClose();
    });
    return (snapshot) => {
      res.write(frame('snapshot', snapshot));
      for (const chunk of client.held ?? []) res.write(chunk);
      client.held = undefined;
    };
  }

  flush(): void {
    if (!this.events.length && !this.reportCount) return;
    if (!this.clients.size) {
      this.reset();
      return;
    }
    const reports = [...this.reports.values()].slice(-this.o.maxReports);
    const events = this.events.slice(-this.o.maxEvents);
    const batch: LiveBatch = { items: [...events, ...reports], reports: this.reportCount, series: this.series() };
    this.reset();
    this.broadcast(frame('batch', batch));
  }

  /** Ends every stream (shutdown: the HTTP server closes only when they are gone). */
  close(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private reset(): void {
    this.events = [];
    this.reports = new Map();
    this.reportCount = 0;
  }

  private broadcast(chunk: string): void {
    for (const c of this.clients) {
      if (c.held) c.held.push(chunk);
      // A page that stopped reading would make the server buffer without bound: drop it, it reconnects.
      else if (c.res.writableLength > MAX_BUFFERED) c.res.destroy();
      else c.res.write(chunk);
    }
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
