import { Events, NatsConnection, QueuedIterator, Status } from 'nats';

/** Calls `onReconnect` after every NATS reconnect; returns a function that stops watching. */
export function watchReconnects(nc: NatsConnection, onReconnect: () => void): () => void {
  const status = nc.status();
  void (async () => {
    for await (const s of status) {
      if (s.type === Events.Reconnect) onReconnect();
    }
  })();
  // nats.js returns a QueuedIterator; stop() also removes it from the connection's listeners.
  return () => (status as Partial<QueuedIterator<Status>>).stop?.();
}
