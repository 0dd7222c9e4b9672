/**
 * nats.js, loaded on first use: a process on the embedded log (`make run`) never loads it
 * (start-up time). Every NatsEventLog / NatsLogReader is made by its `connect`, which calls
 * `loadNats()` first, so their methods read the modules synchronously.
 */
import { lazyModule } from '@perpmesh/core';

const jetstream = lazyModule('@nats-io/jetstream', () => import('@nats-io/jetstream'));
const transport = lazyModule('@nats-io/transport-node', () => import('@nats-io/transport-node'));

/** Loads nats.js (once per process). */
export async function loadNats(): Promise<void> {
  await Promise.all([jetstream.load(), transport.load()]);
}

/** `@nats-io/jetstream`, once `loadNats()` has run. */
export const jetstreamApi = jetstream.get;

/** `@nats-io/transport-node`, once `loadNats()` has run. */
export const transportApi = transport.get;
