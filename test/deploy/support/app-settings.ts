import { DatabaseSettings, loadConfig } from '@nco/runtime';
import { networkInterfaces } from 'node:os';
import { ConstructSettings } from '../../../apps/construct-svc/src/settings';
import { DashboardSettings } from '../../../apps/dashboard/src/settings';
import { FleetSettings } from '../../../apps/dca/src/fleet/fleet.settings';
import { loadDcaConfig } from '../../../apps/dca/src/settings';
import { DeploySettings } from '../../../apps/deploy-svc/src/settings';
import { MonitorSettings } from '../../../apps/monitor-svc/src/settings';
import { OrchestratorSettings } from '../../../apps/orchestrator/src/settings';
import { RevokeSettings } from '../../../apps/revoke-svc/src/settings';
import { SecuritySettings } from '../../../apps/security-svc/src/settings';

/**
 * Loads an app's settings from `env` exactly as the app does at start, so a deployment whose
 * environment the app would refuse (a missing key, a bad value) fails here instead of in a pod.
 */
const LOADERS: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  orchestrator: (env) => loadConfig(OrchestratorSettings, env),
  'construct-svc': (env) => loadConfig(ConstructSettings, env),
  'deploy-svc': (env) => loadConfig(DeploySettings, env),
  'revoke-svc': (env) => loadConfig(RevokeSettings, env),
  'monitor-svc': (env) => loadConfig(MonitorSettings, env),
  'security-svc': (env) => loadConfig(SecuritySettings, env),
  dashboard: (env) => loadConfig(DashboardSettings, env),
  fleet: (env) => loadConfig(FleetSettings, env),
  migrate: (env) => loadConfig(DatabaseSettings, env),
  // The host facts stand in for a node: a MAC and a kernel release.
  dca: (env) =>
    loadDcaConfig(env, {
      networkInterfaces: (() => ({ eth0: [{ mac: '0a:00:00:00:00:01', internal: false }] })) as unknown as typeof networkInterfaces,
      release: () => '6.1.0-28-amd64',
    }),
};

export const APPS_WITH_SETTINGS = Object.keys(LOADERS);

/** The settings the app would run with; throws the app's own ConfigError otherwise. */
export function loadAppSettings(app: string, env: Record<string, string>): unknown {
  const load = LOADERS[app];
  if (!load) throw new Error(`no settings loader for app ${app}`);
  return load(env);
}
