import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from './logger';

const base = { LOG_LEVEL: 'info' as const, LOG_FORMAT: 'json' as const, LOG_FILE_SIZE: '2k', LOG_FILE_COUNT: 3 };

describe('createLogger', () => {
  it('writes size-rotated log files and keeps a bounded number of them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nco-log-'));
    const log = createLogger('test-svc', { ...base, LOG_FILE: join(dir, 'svc.log') });
    for (let i = 0; i < 400; i++) {
      log.info({ hostId: i, moduleId: 7, operationId: 'op' }, `line ${i} ${'x'.repeat(40)}`);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    const files = readdirSync(dir).filter((f) => f.startsWith('svc'));
    expect(files.length).toBeGreaterThan(1);
    expect(files.length).toBeLessThanOrEqual(3);
    const last = files.sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    const line = JSON.parse(last.trim().split('\n').pop()!);
    expect(line).toMatchObject({ service: 'test-svc', moduleId: 7, operationId: 'op' });
  });

  it('puts the service on every line and redacts keys', () => {
    const lines: string[] = [];
    const log = createLogger('t-svc', base, {}, { write: (s: string) => lines.push(s) });
    log.child({ hostId: 3 }).info({ hexKey: 'deadbeef', nested: { key: 'secret' } }, 'keyed');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ service: 't-svc', hostId: 3, msg: 'keyed', hexKey: '[redacted]', nested: { key: '[redacted]' } });
    expect(lines[0]).not.toMatch(/deadbeef|secret/);
  });
});
