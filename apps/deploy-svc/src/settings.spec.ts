import { ConfigError, loadConfig } from '@nco/runtime';
import { RevokeSettings } from '../../revoke-svc/src/settings';
import { inFlightBoundMs } from '@nco/delivery';
import { DeploySettings } from './settings';

describe('deploy-svc and revoke-svc settings', () => {
  it('has working defaults', () => {
    const c = loadConfig(DeploySettings, {});
    expect(c).toMatchObject({ DISPATCH_BATCH: 2000, DISPATCH_CONCURRENCY: 1000, DISPATCH_SWEEP_MS: 2000, MAX_ATTEMPTS: 8, COMMAND_TIMEOUT_MS: 15_000, INSTALL_CONFIRM_MS: 60_000, HTTP_PORT: 3003 });
    expect(inFlightBoundMs(c)).toBe(50_000);
    expect(loadConfig(RevokeSettings, {})).toMatchObject({ DISPATCH_BATCH: 2000, HTTP_PORT: 3004 });
  });

  it('names a bad value', () => {
    expect(() => loadConfig(DeploySettings, { DISPATCH_CONCURRENCY: '0' })).toThrow(/DISPATCH_CONCURRENCY/);
    expect(() => loadConfig(RevokeSettings, { DISPATCH_BATCH: '50000' })).toThrow(/DISPATCH_BATCH/);
  });

  it('refuses a retry ceiling below the base', () => {
    expect(() => loadConfig(RevokeSettings, { RETRY_BASE_MS: '5000', RETRY_MAX_MS: '1000' })).toThrow(/RETRY_MAX_MS: must be at least RETRY_BASE_MS/);
  });

  it('refuses an install confirmation window shorter than a batch in flight', () => {
    const e = (() => {
      try {
        loadConfig(DeploySettings, { COMMAND_TIMEOUT_MS: '20000', INSTALL_CONFIRM_MS: '30000' });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/INSTALL_CONFIRM_MS: must be at least/);
  });
});
