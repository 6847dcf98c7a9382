import { OperationDetail, OperationSummary, Subjects } from '@nco/events';
import { CliError } from '../errors';
import { CliConnection } from '../nats';
import { CliSettings } from '../settings';
import { ask } from '../requests';
import { ProgressView } from './progress-view';

export const FINISHED = new Set(['succeeded', 'failed', 'partially_failed', 'cancelled']);

/** How often the follower also asks for the operation, in case a progress event was missed. */
const POLL_MS = 2_000;

/**
 * Follows operations through their progress events (nco.evt.operation.progress). Start it
 * before sending the command, so no event published in between is lost; `until` then waits for
 * one operation to finish, asking the orchestrator now and then as a safety net.
 */
export class OperationFollower {
  private readonly latest = new Map<string, OperationSummary>();
  private wake?: () => void;
  private readonly sub;

  constructor(
    private readonly conn: CliConnection,
    private readonly settings: CliSettings,
  ) {
    this.sub = conn.bus.subscribe(Subjects.evt.operationProgress, ({ env }) => {
      const prev = this.latest.get(env.body.id);
      if (prev && Date.parse(prev.updatedAt) > Date.parse(env.body.updatedAt)) return;
      this.latest.set(env.body.id, env.body);
      this.wake?.();
    });
  }

  /** Resolves with the finished operation (and why hosts failed); throws after `timeoutMs`. */
  async until(operationId: string, view: ProgressView, timeoutMs: number): Promise<OperationDetail> {
    const deadline = Date.now() + timeoutMs;
    let lastPoll = 0;
    try {
      for (;;) {
        if (Date.now() - lastPoll >= POLL_MS) {
          lastPoll = Date.now();
          const polled = await this.get(operationId);
          const seen = this.latest.get(operationId);
          if (!seen || Date.parse(polled.updatedAt) >= Date.parse(seen.updatedAt)) this.latest.set(operationId, polled);
        }
        const op = this.latest.get(operationId)!;
        view.update(op);
        if (FINISHED.has(op.status)) return await this.get(operationId);
        if (Date.now() >= deadline) {
          throw new CliError(`operation ${operationId} is still ${op.status} after ${Math.round(timeoutMs / 1000)} s (${op.pending} hosts pending): follow it with nco status ${operationId} --follow`);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
          this.wake = () => (clearTimeout(t), resolve());
        });
        this.wake = undefined;
      }
    } finally {
      view.stop();
    }
  }

  stop(): void {
    this.sub.unsubscribe();
  }

  private get(operationId: string): Promise<OperationDetail> {
    return ask(this.conn, this.settings, Subjects.cmd.operationGet, undefined, { operationId }, 'the orchestrator');
  }
}
