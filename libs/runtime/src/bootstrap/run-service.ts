import 'reflect-metadata';
import { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError, HttpSettings, loadConfig, LoggingSettings } from '../config/config';
import { startDefaultMetrics } from '../health/metrics';
import { createLogger } from '../logging/logger';
import { NatsService } from '../nats/nats.service';
import { CoreModule } from './core.module';

export interface ServiceDefinition<S extends z.ZodObject> {
  name: string;
  /** The full settings schema of the service (include LoggingSettings and HttpSettings). */
  settings: S;
  /** The service's feature modules, built from its validated config. */
  modules(config: z.infer<S>): Array<Type | DynamicModule>;
}

export interface RunningService {
  app: INestApplication;
  logger: Logger;
  port: number;
  close(): Promise<void>;
}

/** Builds a service: validated config, pino logger, core module (NATS, health) and its features. */
export async function createService<S extends z.ZodObject>(
  def: ServiceDefinition<S>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService> {
  const config = loadConfig(def.settings, env) as z.infer<S> & z.infer<typeof LoggingSettings> & z.infer<typeof HttpSettings>;
  const logger = createLogger(def.name, config);
  startDefaultMetrics(def.name);
  const root: DynamicModule = {
    module: class ServiceRoot {},
    imports: [CoreModule.forRoot({ service: def.name, config, logger }), ...def.modules(config)],
  };
  const app = await NestFactory.create(root, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(NestPinoLogger));
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  // Handlers subscribed during bootstrap; a flush round-trip makes sure the server has them all.
  await app.get(NatsService).connection.flush();
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.HTTP_PORT;
  logger.info({ port }, `${def.name} started`);
  return { app, logger, port, close: () => app.close() };
}

/**
 * Entry point of a service process: start it, and on SIGTERM/SIGINT stop taking work, finish
 * what is in flight (bounded by SHUTDOWN_TIMEOUT_MS) and exit. A bad setting exits with code 2
 * and a message naming it.
 */
export async function runService<S extends z.ZodObject>(def: ServiceDefinition<S>): Promise<void> {
  let running: RunningService;
  try {
    running = await createService(def);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${def.name}: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${def.name}: failed to start: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  }
  const timeoutMs = Number((loadConfig(HttpSettings.pick({ SHUTDOWN_TIMEOUT_MS: true }))).SHUTDOWN_TIMEOUT_MS);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      running.logger.error({ timeoutMs }, 'shutdown timed out, exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    await running.close();
    running.logger.info('stopped');
    running.logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
