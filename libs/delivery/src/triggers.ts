import { NatsBus, Subjects } from '@nco/events';
import { DeviceDispatcher } from './dispatcher';

/**
 * What makes a dispatcher look for work besides its own sweep, each subscribed with the
 * service's queue group (one replica per event; any replica can claim): pending work written
 * elsewhere (`pending.work`, e.g. a rotation's deprecate and revoke), a device back online
 * (its waiting rows become due at once), and — for installs — recorded builds.
 */
export function subscribeTriggers(bus: NatsBus, queue: string, dispatcher: DeviceDispatcher, opts: { builds?: boolean } = {}): void {
  bus.subscribe(
    Subjects.evt.pendingWork,
    ({ env }) => {
      if (env.body.kinds.some((k) => (dispatcher.kinds as string[]).includes(k))) dispatcher.kick();
    },
    { queue },
  );
  bus.subscribe(Subjects.evt.hostOnline, ({ env }) => dispatcher.wake(env.body.hostId), { queue });
  if (opts.builds) {
    bus.subscribe(Subjects.evt.buildSucceeded, () => dispatcher.kick(), { queue });
    // construct-svc records a big deploy in chunks and announces each with the operation's
    // progress, but build.succeeded only after the last one: start delivering a chunk as soon as
    // it is recorded. (Until construct-svc publishes pending.work per chunk, which says it directly.)
    bus.subscribe(
      Subjects.evt.operationProgress,
      ({ env }) => {
        if (env.body.kind === 'deploy' && env.body.pending > 0) dispatcher.kick();
      },
      { queue },
    );
  }
}
