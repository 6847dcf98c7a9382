import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import { SERVICE_CONFIG } from '@nco/runtime';
import type { NextFunction, Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DashboardConfig } from '../settings';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** With DASHBOARD_BASIC_AUTH set, the page and its API ask for it (compared in constant time). */
@Injectable()
export class BasicAuthMiddleware implements NestMiddleware {
  private readonly expected?: Buffer;

  constructor(@Inject(SERVICE_CONFIG) config: DashboardConfig) {
    if (config.DASHBOARD_BASIC_AUTH) this.expected = digest(config.DASHBOARD_BASIC_AUTH);
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (!this.expected) return next();
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    if (given && timingSafeEqual(digest(given), this.expected)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="NCO dashboard", charset="UTF-8"');
    res.status(401).json({ error: 'authentication required' });
  }
}
