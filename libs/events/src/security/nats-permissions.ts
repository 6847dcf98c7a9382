import { Streams } from '../subjects';

/**
 * What each kind of NATS user of the NCO account may publish and subscribe to (docs/security.md,
 * "NATS permissions"). The rules are written into each user's JWT, so the server configuration
 * never changes when a device is enrolled or revoked.
 */
export interface NatsUserPermissions {
  pub?: { allow?: string[]; deny?: string[] };
  sub?: { allow?: string[]; deny?: string[] };
  /** Reply once to each request received (ttl 0: the server's default window). */
  resp?: { max: number; ttl: number };
}

export type NatsRole = 'service' | 'operator' | 'fleet' | 'bootstrap' | 'device';

/** A device's private inbox prefix: it passes this as the nats.js `inboxPrefix` connection option. */
export function deviceInboxPrefix(hostId: number): string {
  return `_INBOX_${hostId}`;
}

/** The inbox prefix of not yet enrolled devices (the shared bootstrap user). */
export const BOOTSTRAP_INBOX_PREFIX = '_INBOX_enroll';

const ANSWER_COMMANDS = { max: 1, ttl: 0 };

/**
 * A device: its own report and incidents, the check-in, and replies to the commands it receives;
 * it hears only its own commands and its own inbox. Publishing to its own command subjects is denied
 * too, so a device cannot fake a command to itself through a service's queue.
 */
export function devicePermissions(hostId: number): NatsUserPermissions {
  if (!Number.isSafeInteger(hostId) || hostId < 0) throw new Error(`device permissions: bad host id ${hostId}`);
  return {
    pub: { allow: ['nco.checkin', `nco.dev.${hostId}.report`, `nco.dev.${hostId}.evt.>`], deny: [`nco.dev.${hostId}.cmd.>`] },
    sub: { allow: [`nco.dev.${hostId}.cmd.>`, `${deviceInboxPrefix(hostId)}.>`] },
    resp: ANSWER_COMMANDS,
  };
}

// The JetStream API an ordered consumer (`nco watch`) uses on the NCO streams: look the stream up,
// create, inspect, pull from and delete its own consumer. Nothing that changes or deletes a stream.
function watchJetStreamApi(): string[] {
  const api = ['$JS.API.INFO', '$JS.API.STREAM.NAMES'];
  for (const { name } of Object.values(Streams)) {
    api.push(
      `$JS.API.STREAM.INFO.${name}`,
      `$JS.API.CONSUMER.CREATE.${name}`,
      `$JS.API.CONSUMER.CREATE.${name}.>`,
      `$JS.API.CONSUMER.INFO.${name}.*`,
      `$JS.API.CONSUMER.DELETE.${name}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${name}.*`,
    );
  }
  return api;
}

export function rolePermissions(role: Exclude<NatsRole, 'device'>): NatsUserPermissions {
  switch (role) {
    // The NCO services: the whole NCO account (streams, consumers, every subject).
    case 'service':
      return {};
    // An operator's `nco`: commands and queries, service events, and following the streams.
    case 'operator':
      return { pub: { allow: ['nco.cmd.>', ...watchJetStreamApi()] }, sub: { allow: ['_INBOX.>', 'nco.evt.>'] } };
    // The fleet simulator speaks for many hosts at once: staging and benchmarks only.
    case 'fleet':
      return {
        pub: { allow: ['nco.checkin', 'nco.dev.*.report', 'nco.dev.*.evt.>'] },
        sub: { allow: ['nco.dev.*.cmd.>', '_INBOX.>'] },
        resp: ANSWER_COMMANDS,
      };
    // Shared by devices before enrollment: the check-in and its answer, nothing else.
    case 'bootstrap':
      return { pub: { allow: ['nco.checkin'] }, sub: { allow: [`${BOOTSTRAP_INBOX_PREFIX}.>`] } };
  }
}
