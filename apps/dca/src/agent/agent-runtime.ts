import type { Agent } from './agent';

/**
 * Where an agent's reporting clock and command delivery live. One DCA process owns a timer and a
 * subscription of its own (SoloRuntime); a fleet shares one ticker and one wildcard subscription
 * among thousands of agents (FleetRuntime). The agent's logic is the same either way.
 */
export interface AgentRuntime {
  /** The agent checked in (first time, or again with `previousHostId`): report and take commands. */
  attach(agent: Agent, previousHostId?: number): void;
  /** The agent stopped: no more reports or commands. */
  detach(agent: Agent): void;
  /** Runs one check-in request; a fleet bounds how many are in flight. */
  limit<T>(fn: () => Promise<T>): Promise<T>;
}
