/*
 * The parts of @nco/runtime the DCA uses, imported from their files on purpose: the package's
 * index also loads NestJS (about 30 MB of RSS), which would break the DCA's 80 MB budget.
 */
export { ConfigError, loadConfig, LoggingSettings, NatsSettings } from '../../../libs/runtime/src/config/config';
export { createLogger } from '../../../libs/runtime/src/logging/logger';
