import { randomBytes } from 'node:crypto';
import { Fleet } from './fleet/fleet';
import { FleetConfig, FleetSettings } from './fleet/fleet.settings';
import { exitOnConfigError, onShutdown } from './process';
import { createLogger, loadConfig } from './runtime';
import { commandGuardFrom } from './security/settings';

/** Runs FLEET_SIZE simulated DCAs (plus FLEET_MIDDLEBOXES) over one NATS connection. */
async function main(): Promise<void> {
  let config: FleetConfig;
  try {
    config = loadConfig(FleetSettings);
  } catch (e) {
    exitOnConfigError('dca-fleet', e);
  }
  const logger = createLogger('dca-fleet', config);
  let guard;
  try {
    guard = commandGuardFrom(config);
  } catch (e) {
    exitOnConfigError('dca-fleet', e);
  }
  if (!guard) logger.warn('DCA_ALLOW_UNSIGNED: the fleet accepts unsigned commands (development only)');
  const fleet = new Fleet({
    nats: { servers: config.NATS_URL, name: `dca-fleet@${process.pid}`, user: config.NATS_USER, pass: config.NATS_PASS, token: config.NATS_TOKEN, credsFile: config.NATS_CREDS_FILE },
    size: config.FLEET_SIZE,
    release: config.FLEET_RELEASE,
    macPrefix: config.FLEET_MAC_PREFIX,
    middleboxes: config.FLEET_MIDDLEBOXES,
    stateDir: config.FLEET_STATE_DIR,
    checkinConcurrency: config.FLEET_CHECKIN_CONCURRENCY,
    symversFile: config.FLEET_SYMVERS_FILE,
    guard,
    identitySeed: config.FLEET_IDENTITY === 'on' ? identitySeed(config, logger) : undefined,
    enrollToken: config.DCA_ENROLL_TOKEN,
    logger,
  });
  onShutdown(logger, () => fleet.stop());
  const startedAt = Date.now();
  logger.info({ size: config.FLEET_SIZE, middleboxes: config.FLEET_MIDDLEBOXES, release: config.FLEET_RELEASE }, 'fleet starting');
  await fleet.start();
  if (fleet.checkedIn === fleet.devices.length) {
    logger.info({ devices: fleet.devices.length, ms: Date.now() - startedAt, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) }, 'all devices checked in');
  }
}

/** The identity seed: FLEET_IDENTITY_SEED, else a fresh one (identities then change at every start: development only). */
function identitySeed(config: FleetConfig, logger: { warn: (o: object, m: string) => void }): Buffer {
  if (config.FLEET_IDENTITY_SEED) return Buffer.from(config.FLEET_IDENTITY_SEED, /^[0-9a-f]+$/i.test(config.FLEET_IDENTITY_SEED) ? 'hex' : 'base64');
  logger.warn({}, 'FLEET_IDENTITY_SEED not set: devices get new identities at every start, and an NCO that enrolled the old ones refuses them');
  return randomBytes(32);
}

main().catch((e) => exitOnConfigError('dca-fleet', e));
