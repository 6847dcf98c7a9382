import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { HostId, isNcoError } from '@nco/events';
import { ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import type { Response } from 'express';
import { Logger } from 'pino';
import { StreamRelay } from '../live/stream-relay.service';
import { DashboardConfig } from '../settings';
import { FleetQueries } from './fleet-queries.service';
import { StaticFiles } from './static-files';

/**
 * The dashboard's HTTP surface, read-only: the page and its assets, the initial state of a page
 * (JSON), and the live stream (Server-Sent Events). There is no POST: operators act through `nco`.
 */
@Controller()
export class DashboardController {
  private readonly log: Logger;

  constructor(
    private readonly queries: FleetQueries,
    private readonly relay: StreamRelay,
    private readonly files: StaticFiles,
    @Inject(SERVICE_CONFIG) private readonly config: DashboardConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'web' });
  }

  @Get()
  index(@Res() res: Response) {
    this.files.send(res, 'index.html');
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() res: Response) {
    this.files.send(res, file);
  }

  @Get('api/overview')
  async overview(@Res() res: Response) {
    res.json(await this.queries.overview());
  }

  @Get('api/hosts/:id')
  async host(@Param('id') id: string, @Res() res: Response) {
    const hostId = HostId.safeParse(/^\d{1,10}$/.test(id) ? Number(id) : NaN);
    if (!hostId.success) {
      res.status(400).json({ error: `not a host id: ${JSON.stringify(id.slice(0, 40))} (expected a whole number from 1 to 2147483647)` });
      return;
    }
    try {
      res.json(await this.queries.host(hostId.data));
    } catch (e) {
      if (isNcoError(e) && e.code === 'not_found') res.status(404).json({ error: e.message });
      else res.status(502).json({ error: `the NCO did not answer: ${(e as Error).message}` });
    }
  }

  /** The live stream: a `snapshot` event first (what /api/overview returns), then a `batch` every DASHBOARD_PUSH_MS. */
  @Get('api/stream')
  async stream(@Res() res: Response) {
    if (this.relay.hub.size >= this.config.DASHBOARD_MAX_CLIENTS) {
      res.status(503).json({ error: `too many open dashboards (DASHBOARD_MAX_CLIENTS=${this.config.DASHBOARD_MAX_CLIENTS})` });
      return;
    }
    const closed = this.relay.clientOpened();
    const ready = this.relay.hub.open(res, closed);
    try {
      ready(await this.queries.overview());
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'snapshot failed');
      res.end();
    }
  }
}
