/**
 * nats.js, loaded on first use: a process on the embedded log (`make run`) never loads it,
 * which was ~4 % of its start-up CPU. Every NatsEventLog / NatsLogReader is made by its
 * `connect`, which loads it first, so their methods can read it synchronously.
 */
import type * as JetStreamModule from '@nats-io/jetstream';
import type * as TransportModule from '@nats-io/transport-node';

let jetstream: typeof JetStreamModule | undefined;
let transport: typeof TransportModule | undefined;

/** Loads nats.js (once per process). */
export async function loadNats(): Promise<void> {
  [jetstream, transport] = await Promise.all([
    jetstream ?? import('@nats-io/jetstream'),
    transport ?? import('@nats-io/transport-node'),
  ]);
}

function notLoaded(): never {
  throw new Error('nats.js is not loaded yet: await loadNats() first');
}

/** `@nats-io/jetstream`, once `loadNats()` has run. */
export function jetstreamApi(): typeof JetStreamModule {
  return jetstream ?? notLoaded();
}

/** `@nats-io/transport-node`, once `loadNats()` has run. */
export function transportApi(): typeof TransportModule {
  return transport ?? notLoaded();
}
