import { InverseInstallCommand, InverseRemoveCommand, InverseResult, NcoError, Subjects } from '@nco/events';
import type { Agent } from '../agent/agent';

function keeperOf(agent: Agent) {
  if (!agent.inverse) throw new NcoError('invalid_request', 'this device is not a middlebox: it keeps no inverse modules');
  return agent.inverse;
}

/** Write an inverse module, then report at once so the NCO sees what the middlebox holds. */
async function install(agent: Agent, body: unknown): Promise<InverseResult> {
  const r = await keeperOf(agent).install(body as InverseInstallCommand);
  if (r.outcome === 'installed') await agent.report('change');
  return r;
}

async function remove(agent: Agent, body: unknown): Promise<InverseResult> {
  const r = await keeperOf(agent).remove(body as InverseRemoveCommand);
  if (r.outcome === 'removed') await agent.report('change');
  return r;
}

/** Middlebox commands by verb (`nco.dev.<hostId>.cmd.inverse.<verb>`), for the command router. */
export const INVERSE_COMMANDS = {
  'inverse.install': { contract: Subjects.device.inverseInstall, run: install },
  'inverse.remove': { contract: Subjects.device.inverseRemove, run: remove },
};
