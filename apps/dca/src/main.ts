import { connectNats, NatsBus } from '@nco/events';
import { Agent } from './agent/agent';
import { SoloRuntime } from './agent/solo.runtime';
import { createDriver, DriverStartError } from './driver/create-driver';
import { Driver } from './driver/driver';
import { InverseKeeper } from './middlebox/inverse-keeper';
import { DirInverseStore } from './middlebox/inverse-store';
import { exitOnConfigError, onShutdown } from './process';
import { createLogger } from './runtime';
import { loadOrCreateIdentity } from './security/identity';
import { commandGuardFrom } from './security/settings';
import { DcaConfig, loadDcaConfig } from './settings';

/** One Device Customization Agent: check in, report, answer the NCO; stop cleanly on a signal. */
async function main(): Promise<void> {
  let config: DcaConfig;
  try {
    config = loadDcaConfig();
  } catch (e) {
    exitOnConfigError('dca', e);
  }
  const logger = createLogger('dca', config);
  let guard;
  try {
    guard = commandGuardFrom(config);
  } catch (e) {
    exitOnConfigError('dca', e);
  }
  if (!guard) logger.warn('DCA_ALLOW_UNSIGNED: this device accepts unsigned commands (development only)');
  let driver: Driver;
  try {
    driver = await createDriver(config.DCA_DRIVER, {
      stateDir: config.DCA_STATE_DIR,
      symversFile: config.DCA_SYMVERS_FILE,
      modulesDir: config.DCA_MODULES_DIR,
      netlinkHelper: config.DCA_NETLINK_HELPER,
    });
  } catch (e) {
    if (e instanceof DriverStartError) {
      process.stderr.write(`dca: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const nc = await connectNats(
    { servers: config.NATS_URL, name: `dca-${config.DCA_MAC}`, user: config.NATS_USER, pass: config.NATS_PASS, token: config.NATS_TOKEN, credsFile: config.NATS_CREDS_FILE },
    logger.child({ component: 'nats' }),
  );
  const identity = await loadOrCreateIdentity(config.DCA_STATE_DIR);
  logger[identity.created ? 'warn' : 'info']({ fingerprint: identity.keys.fingerprint }, identity.created ? 'created a new device identity' : 'device identity loaded');
  const bus = new NatsBus(nc, logger);
  const runtime = new SoloRuntime(bus, logger, guard);
  const agent = new Agent({
    bus,
    driver,
    runtime,
    logger,
    identity: { mac: config.DCA_MAC, release: config.DCA_RELEASE, ip: config.DCA_IP, middleboxType: config.DCA_MIDDLEBOX_TYPE },
    keys: identity.keys,
    enrollToken: config.DCA_ENROLL_TOKEN,
    inverse: config.DCA_MIDDLEBOX_TYPE ? new InverseKeeper(new DirInverseStore(config.DCA_INVERSE_DIR), logger.child({ component: 'inverse' })) : undefined,
  });
  onShutdown(logger, async () => {
    await agent.stop();
    await runtime.drained();
    await bus.close();
    await driver.close?.();
  });
  logger.info({ mac: config.DCA_MAC, driver: driver.kind, release: config.DCA_RELEASE, stateDir: config.DCA_STATE_DIR }, 'dca starting');
  await agent.start();
}

main().catch((e) => exitOnConfigError('dca', e));
