import { connectNats, NatsBus } from '@nco/events';
import { z } from 'zod';
import { onShutdown } from '../process';
import { createLogger, loadConfig, LoggingSettings, NatsSettings } from '../runtime';
import { FakeNco } from './fake-nco';

const Settings = LoggingSettings.extend(NatsSettings.shape).extend({
  FAKE_NCO_FIRST_HOST_ID: z.coerce.number().int().min(1).default(1),
  FAKE_NCO_REPORT_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
});

/** Answers check-ins and counts reports, to measure DCAs without the NCO (`node …/fake-nco-main.js`). */
async function main(): Promise<void> {
  const config = loadConfig(Settings);
  const logger = createLogger('fake-nco', config);
  const bus = new NatsBus(await connectNats({ servers: config.NATS_URL, name: 'fake-nco' }, logger), logger);
  const nco = new FakeNco(bus, { firstHostId: config.FAKE_NCO_FIRST_HOST_ID, reportIntervalMs: config.FAKE_NCO_REPORT_INTERVAL_MS, watchReports: true });
  await nco.start();
  let last = 0;
  const timer = setInterval(() => {
    logger.info({ hosts: nco.hostIds.size, reportsPerSec: (nco.totalReports - last) / 5 }, 'fake NCO');
    last = nco.totalReports;
  }, 5_000);
  onShutdown(logger, async () => {
    clearInterval(timer);
    nco.stop();
    await bus.close();
  });
  logger.info('fake NCO answering check-ins');
}

void main();
