import pino, { DestinationStream, Logger, TransportTargetOptions } from 'pino';
import { z } from 'zod';
import { LoggingSettings } from '../config/config';

export type LogSettings = z.infer<typeof LoggingSettings>;

/**
 * One pino logger per process: JSON to stdout by default, or pretty when asked, plus an
 * optional size-rotated file with a bounded number of files (pino-roll). Every line carries
 * `service` and `hostname`; callers add hostId / moduleId / operationId with child loggers.
 */
export function createLogger(service: string, s: LogSettings, base: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const targets: TransportTargetOptions[] = [];
  if (s.LOG_FORMAT === 'pretty') {
    targets.push({ target: 'pino-pretty', level: s.LOG_LEVEL, options: { destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } });
  }
  if (s.LOG_FILE) {
    targets.push({
      target: 'pino-roll',
      level: s.LOG_LEVEL,
      options: { file: s.LOG_FILE, size: s.LOG_FILE_SIZE, limit: { count: s.LOG_FILE_COUNT - 1 }, mkdir: true },
    });
  }
  const options = {
    level: s.LOG_LEVEL,
    base: { service, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.key', '*.hexKey', '*.password', '*.pass', '*.token', 'key', 'hexKey'], censor: '[redacted]' },
  };
  if (targets.length === 0) return destination ? pino(options, destination) : pino(options);
  if (s.LOG_FORMAT === 'json') targets.push({ target: 'pino/file', level: s.LOG_LEVEL, options: { destination: 1 } });
  return pino(options, pino.transport({ targets }));
}
