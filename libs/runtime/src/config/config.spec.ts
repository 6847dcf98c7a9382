import { z } from 'zod';
import { ConfigError, env, loadConfig, LoggingSettings, NatsSettings, serviceSettings } from './config';

describe('loadConfig', () => {
  it('applies defaults and treats empty values as unset', () => {
    const c = loadConfig(serviceSettings(3001), { LOG_LEVEL: '', HTTP_PORT: '4000' });
    expect(c).toMatchObject({ LOG_LEVEL: 'info', LOG_FORMAT: 'json', HTTP_PORT: 4000, NATS_URL: ['nats://127.0.0.1:4222'], MIGRATE_ON_START: false });
  });

  it('names every bad setting with what it got', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig(serviceSettings(3001), { NATS_URL: 'http://x', DATABASE_URL: 'nope', LOG_FILE_SIZE: '12 parsecs', HTTP_PORT: '99999' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems).toHaveLength(4);
    expect(err!.message).toMatch(/NATS_URL: expected nats:\/\/host:port.*\(got "http:\/\/x"\)/);
    expect(err!.message).toMatch(/DATABASE_URL: expected a postgres or postgresql URL/);
    expect(err!.message).toMatch(/LOG_FILE_SIZE: expected a size like 32k/);
    expect(err!.message).toMatch(/HTTP_PORT/);
  });

  it('splits a NATS server list and parses booleans', () => {
    const c = loadConfig(NatsSettings.extend({ FLAG: env.bool }), { NATS_URL: 'nats://a:1, nats://b:2', FLAG: 'yes' });
    expect(c.NATS_URL).toEqual(['nats://a:1', 'nats://b:2']);
    expect(c.FLAG).toBe(true);
  });

  it('only reads the keys of its schema', () => {
    expect(loadConfig(LoggingSettings.pick({ LOG_LEVEL: true }), { LOG_LEVEL: 'debug', OTHER: 'x' } as NodeJS.ProcessEnv)).toEqual({ LOG_LEVEL: 'debug' });
    expect(() => loadConfig(z.object({ X: z.string() }), {})).toThrow(/X:/);
  });
});
