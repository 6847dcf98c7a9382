import { BeforeApplicationShutdown, Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { register } from 'prom-client';
import { ReadinessRegistry } from './readiness.registry';

/** Liveness (the process answers), readiness (its dependencies answer) and Prometheus metrics. */
@Controller()
export class HealthController implements BeforeApplicationShutdown {
  constructor(private readonly readiness: ReadinessRegistry) {}

  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready(@Res() res: Response) {
    const result = await this.readiness.run();
    res.status(result.ok ? 200 : 503).json({ status: result.ok ? 'ok' : 'unavailable', checks: result.checks });
  }

  @Get('metrics')
  async metrics(@Res() res: Response) {
    res.setHeader('Content-Type', register.contentType);
    res.send(await register.metrics());
  }

  beforeApplicationShutdown(): void {
    this.readiness.markShuttingDown();
  }
}
