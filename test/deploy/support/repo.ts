import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..', '..');

/** HTTP ports as `npm start` gives them (tools/up.mjs is the source of truth), the dashboard's included. */
export function appHttpPorts(): Record<string, number> {
  const up = readFileSync(join(REPO, 'tools', 'up.mjs'), 'utf8');
  const ports: Record<string, number> = {};
  for (const m of up.matchAll(/\{ name: '([a-z-]+)', port: (\d+) \}/g)) ports[m[1]] = Number(m[2]);
  const dashboard = /DASHBOARD_PORT \|\| (\d+)/.exec(up);
  if (dashboard) ports.dashboard = Number(dashboard[1]);
  return ports;
}

/** The six NCO services. */
export const SERVICES = ['orchestrator', 'construct-svc', 'deploy-svc', 'revoke-svc', 'monitor-svc', 'security-svc'] as const;
