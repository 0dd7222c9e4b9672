/**
 * Readiness of a process's Redis state store: a store call that gets no answer fails after
 * the command timeout (libs/state), but until something calls, nothing says so. A probe pings
 * Redis every `intervalMs` and reports the component not ready, naming why, while the pings
 * fail; ready again on the first answer.
 */
import { errorText, sleep } from '@perpmesh/core';
import type { HealthRegistry } from '@perpmesh/runtime';

/** The readiness component of the Redis state store. */
export const STATE_STORE_COMPONENT = 'state/redis';
/** How often the probe pings Redis. */
export const STATE_STORE_PROBE_INTERVAL_MS = 2_000;

/** Starts the probe; the returned function stops it (and waits for a ping in flight). */
export function watchStateStore(
  store: { ping(): Promise<void> },
  health: Pick<HealthRegistry, 'register' | 'ready' | 'notReady'>,
  intervalMs = STATE_STORE_PROBE_INTERVAL_MS,
): () => Promise<void> {
  health.register(STATE_STORE_COMPONENT, `${STATE_STORE_COMPONENT}: first ping pending`);
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        await store.ping();
        if (!stopping) health.ready(STATE_STORE_COMPONENT);
      } catch (err) {
        if (!stopping) health.notReady(STATE_STORE_COMPONENT, `Redis not answering: ${errorText(err)}`);
      }
      await sleep(intervalMs, { stop: stopped, unref: true });
    }
  })();
  return async () => {
    stopping = true;
    stopRequested();
    await loop;
  };
}
