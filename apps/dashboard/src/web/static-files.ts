import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Response } from 'express';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page's static files (apps/dashboard/public, copied next to the compiled code by
 * tools/build.mjs), read once at start and served from memory. Only those names exist: no
 * path from a request ever reaches the file system.
 */
@Injectable()
export class StaticFiles implements OnModuleInit {
  private readonly files = new Map<string, { type: string; body: Buffer }>();

  /** From src/web (source) or dist/…/src/web (built): the public folder is two levels up. */
  static readonly dir = join(__dirname, '..', '..', 'public');

  onModuleInit(): void {
    if (!existsSync(StaticFiles.dir)) throw new Error(`the dashboard's public folder is missing: ${StaticFiles.dir} (run npm run build)`);
    for (const name of readdirSync(StaticFiles.dir)) {
      const type = TYPES[extname(name)];
      if (type) this.files.set(name, { type, body: readFileSync(join(StaticFiles.dir, name)) });
    }
  }

  send(res: Response, name: string): void {
    const file = this.files.get(name);
    if (!file) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    res.setHeader('Content-Type', file.type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Scripts and data only from this server; inline styles for the progress bars' widths.
    if (name.endsWith('.html')) res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'");
    res.send(file.body);
  }
}
