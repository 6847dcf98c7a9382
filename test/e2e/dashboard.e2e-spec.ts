import { pollUntil } from '@nco/events/testing';
import { createService, RunningService } from '@nco/runtime';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Browser, chromium, Page } from 'playwright-core';
import { dashboardService } from '../../apps/dashboard/src/app';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { TestSystem } from '../support/system';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const RELEASE = process.env.KBUILD_TEST_RELEASE || '6.1.0-56-amd64';
const SCREENSHOTS = join(__dirname, '__screenshots__');

const runCli = (sys: TestSystem, ...args: string[]) =>
  promisify(execFile)(process.execPath, ['dist/apps/cli/src/main.js', ...args], { env: { ...process.env, NATS_URL: sys.nats.url } });

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the
 * running system with simulated DCAs: a deploy made with `nco deploy` shows up live (operation
 * progress, module counts, the confirming finding) without reloading the page.
 */
describe('dashboard: live in a browser', () => {
  const sys = new TestSystem({ reportIntervalMs: 1000, env: { DASHBOARD_PUSH_MS: '200' } });
  let dashboard: RunningService;
  let fleet: Fleet;
  let browser: Browser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
    await sys.start();
    fleet = await sys.fleet(3, { release: RELEASE, macPrefix: '02:da:00' });
    dashboard = await createService(dashboardService, { ...sys.env, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' });
    sys.services.push(dashboard);
    url = `http://127.0.0.1:${dashboard.port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await sys.stop();
  });

  it('shows the fleet from the operator queries and goes live', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('#conn[data-state="live"]');
    for (const d of fleet.devices) await page.waitForSelector(`tr[data-host-id="${d.hostId}"][data-online="true"]`);
    expect(await page.textContent('[data-testid="hosts-online"] .value')).toBe('3');
    expect(await page.textContent('[data-testid="hosts-offline"] .value')).toBe('0');
    expect(errors).toEqual([]);
  });

  it('shows a deploy made from the CLI live, without a reload, and saves a screenshot', async () => {
    const hostIds = fleet.devices.map((d) => d.hostId!);
    // A marker on the window: a reload would drop it.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));

    const { stdout } = await runCli(sys, 'deploy', 'dns-tag', '--host', hostIds.join(','), '--no-wait', '--json');
    const { operationId } = JSON.parse(stdout) as { operationId: string };
    expect(operationId).toMatch(/^[0-9a-f-]{36}$/);

    // The operation appears with its progress, then settles; every host gets its module.
    const row = `tr[data-testid="op-${operationId}"]`;
    await page.waitForSelector(row, { timeout: 60_000 });
    await page.waitForSelector(`${row}[data-status="succeeded"]`, { timeout: 120_000 });
    expect(await page.textContent(`${row} td.num`)).toContain('3/3');
    await page.click('a[data-nav="fleet"]');
    for (const id of hostIds) await page.waitForFunction(`document.querySelector('[data-testid="modules-${id}"]')?.textContent === '1'`);
    // The confirming findings came through the live stream.
    await page.click('a[data-nav="stream"]');
    await page.waitForSelector('ul.stream li[data-kind="report"]');
    await page.click('a[href="#/stream/events"]');
    // The findings were listed before the click: wait for the filter's re-render, not for them.
    await pollUntil(async () => (await page.locator('ul.stream li[data-kind="report"]').count()) === 0, 'the events filter to hide the reports', 10_000);
    await page.waitForSelector('ul.stream li[data-kind="reconcile.finding"]');
    expect(await page.locator('ul.stream li[data-kind="report"]').count()).toBe(0);
    expect(await page.locator('ul.stream li[data-kind="reconcile.finding"]').first().textContent()).toMatch(/installed module \d+ \(dns-tag\)/);

    // The host page: the module, its mode, priority, socket count and security status.
    await page.click(`ul.stream li[data-kind="reconcile.finding"] a`);
    await page.waitForSelector('table.modules tr[data-module-id]');
    const moduleRow = await page.textContent('table.modules tr[data-module-id]');
    expect(moduleRow).toMatch(/dns-tag/);
    expect(moduleRow).toMatch(/installed|verified/);
    expect(moduleRow).toMatch(/active/);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-host.png'), fullPage: true });

    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    expect(navigations.every((u) => u.startsWith(url))).toBe(true);

    await page.click('a[data-nav="fleet"]');
    await page.waitForSelector(`tr[data-host-id="${hostIds[0]}"]`);
    const file = join(SCREENSHOTS, 'dashboard-after-deploy.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(existsSync(file)).toBe(true);
  });

  it('keeps the page live across a NATS restart: a device that checks in afterwards appears without a reload', async () => {
    await page.click('a[data-nav="fleet"]');
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 7));
    await sys.nats.restart();
    const late = await sys.fleet(1, { release: RELEASE, macPrefix: '02:db:00' });
    const hostId = late.devices[0].hostId!;
    await page.waitForSelector(`tr[data-host-id="${hostId}"]`, { timeout: 30_000 });
    await page.waitForSelector('#conn[data-state="live"]');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(7);
  });

  it('answers a bad host id with a clear error and serves nothing outside its page', async () => {
    const bad = await fetch(`${url}api/hosts/abc`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/not a host id/);
    expect((await fetch(`${url}api/hosts/999999`)).status).toBe(404);
    expect((await fetch(`${url}assets/..%2Fsrc%2Fmain.ts`)).status).toBe(404);
    expect((await fetch(`${url}api/overview`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(url)).headers.get('content-security-policy')).toMatch(/default-src 'self'/);
  });

  it('asks for DASHBOARD_BASIC_AUTH when it is set, and leaves health and metrics open', async () => {
    const guarded = await createService(dashboardService, { ...sys.env, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', DASHBOARD_BASIC_AUTH: 'ops:correct-horse' });
    sys.services.push(guarded);
    const base = `http://127.0.0.1:${guarded.port}`;
    const auth = { authorization: `Basic ${Buffer.from('ops:correct-horse').toString('base64')}` };
    for (const path of ['/', '/api/overview', '/api/stream', '/assets/app.js']) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status, res.headers.get('www-authenticate')]).toEqual([path, 401, expect.stringMatching(/^Basic /)]);
    }
    expect((await fetch(`${base}/api/overview`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });
});
