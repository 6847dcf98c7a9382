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
import { natsCredsToUse, saveDeviceCreds } from './security/nats-creds';
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
  const identity = await loadOrCreateIdentity(config.DCA_STATE_DIR);
  logger[identity.created ? 'warn' : 'info']({ fingerprint: identity.keys.fingerprint }, identity.created ? 'created a new device identity' : 'device identity loaded');
  const inverse = config.DCA_MIDDLEBOX_TYPE ? new InverseKeeper(new DirInverseStore(config.DCA_INVERSE_DIR), logger.child({ component: 'inverse' })) : undefined;

  // One NATS session at a time: on the bootstrap creds until the NCO sends this device's JWT, then as the device.
  let session: { agent: Agent; runtime: SoloRuntime; bus: NatsBus } | undefined;
  const stopSession = async () => {
    const s = session;
    session = undefined;
    if (!s) return;
    await s.agent.stop();
    await s.runtime.drained();
    await s.bus.close();
  };
  const startSession = async (): Promise<void> => {
    const creds = natsCredsToUse(config.DCA_STATE_DIR, config.NATS_CREDS_FILE);
    const nc = await connectNats(
      { servers: config.NATS_URL, name: `dca-${config.DCA_MAC}`, user: config.NATS_USER, pass: config.NATS_PASS, token: config.NATS_TOKEN, credsFile: creds.file },
      logger.child({ component: 'nats' }),
    );
    const bus = new NatsBus(nc, logger);
    const runtime = new SoloRuntime(bus, logger, guard);
    const onNatsJwt = async (jwt: string) => {
      const file = await saveDeviceCreds(config.DCA_STATE_DIR, jwt, identity.keys);
      logger.info({ file }, 'NATS creds received at enrollment: reconnecting as this device');
      await stopSession();
      await startSession();
    };
    const agent = new Agent({
      bus,
      driver,
      runtime,
      logger,
      identity: { mac: config.DCA_MAC, release: config.DCA_RELEASE, ip: config.DCA_IP, middleboxType: config.DCA_MIDDLEBOX_TYPE },
      keys: identity.keys,
      enrollToken: config.DCA_ENROLL_TOKEN,
      onNatsJwt: creds.bootstrap ? onNatsJwt : undefined,
      inverse,
    });
    session = { agent, runtime, bus };
    logger.info({ mac: config.DCA_MAC, driver: driver.kind, release: config.DCA_RELEASE, stateDir: config.DCA_STATE_DIR, natsCreds: creds.file, bootstrap: creds.bootstrap }, 'dca starting');
    void agent.start().catch((e) => logger.error({ err: (e as Error).message }, 'agent failed to start'));
  };
  onShutdown(logger, async () => {
    await stopSession();
    await driver.close?.();
  });
  await startSession();
}

main().catch((e) => exitOnConfigError('dca', e));
