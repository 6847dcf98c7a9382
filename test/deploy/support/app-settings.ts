import { loadReportKeys, loadSigningKey } from '@nco/events';
import { DatabaseSettings, loadConfig } from '@nco/runtime';
import { networkInterfaces } from 'node:os';
import { ConstructSettings } from '../../../apps/construct-svc/src/settings';
import { DashboardSettings } from '../../../apps/dashboard/src/settings';
import { FleetSettings } from '../../../apps/dca/src/fleet/fleet.settings';
import { commandGuardFrom } from '../../../apps/dca/src/security/settings';
import { loadDcaConfig } from '../../../apps/dca/src/settings';
import { DeploySettings } from '../../../apps/deploy-svc/src/settings';
import { MonitorSettings } from '../../../apps/monitor-svc/src/settings';
import { OrchestratorSettings } from '../../../apps/orchestrator/src/settings';
import { RevokeSettings } from '../../../apps/revoke-svc/src/settings';
import { SecuritySettings } from '../../../apps/security-svc/src/settings';

/**
 * A service: its settings, its command-signing key read as NatsService reads it, and (for the
 * orchestrator and monitor-svc) its report keys read as they read them.
 */
function service(schema: Parameters<typeof loadConfig>[0], readsReportKey = false) {
  return (env: NodeJS.ProcessEnv) => {
    const config = loadConfig(schema, env) as { NCO_SIGNING_KEY?: string; NCO_SIGNING_KEY_FILE?: string; NCO_REPORT_KEY?: string; NCO_REPORT_KEY_FILE?: string };
    loadSigningKey(config);
    if (readsReportKey) loadReportKeys(config);
    return config;
  };
}

/**
 * Loads an app's settings from `env` as the app does at start (settings, then the keys it
 * reads before it connects), so a deployment whose environment the app would refuse (a missing
 * key, a bad value) fails here instead of in a pod.
 */
const LOADERS: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  orchestrator: service(OrchestratorSettings, true),
  'construct-svc': service(ConstructSettings),
  'deploy-svc': service(DeploySettings),
  'revoke-svc': service(RevokeSettings),
  'monitor-svc': service(MonitorSettings, true),
  'security-svc': service(SecuritySettings),
  dashboard: (env) => loadConfig(DashboardSettings, env),
  fleet: (env) => {
    const config = loadConfig(FleetSettings, env);
    commandGuardFrom(config);
    return config;
  },
  migrate: (env) => loadConfig(DatabaseSettings, env),
  // The host facts stand in for a node: a MAC and a kernel release.
  dca: (env) => {
    const config = loadDcaConfig(env, {
      networkInterfaces: (() => ({ eth0: [{ mac: '0a:00:00:00:00:01', internal: false }] })) as unknown as typeof networkInterfaces,
      release: () => '6.1.0-28-amd64',
    });
    commandGuardFrom(config);
    return config;
  },
};

export const APPS_WITH_SETTINGS = Object.keys(LOADERS);

/** The settings the app would run with; throws the app's own ConfigError otherwise. */
export function loadAppSettings(app: string, env: Record<string, string>): unknown {
  const load = LOADERS[app];
  if (!load) throw new Error(`no settings loader for app ${app}`);
  return load(env);
}
