/**
 * What a service's /readyz said while something happened (a node killed): each distinct answer
 * (status and the not-ready components' reasons) with its time from `sinceMs`, and how long it
 * was not ready in total. A test prints it, so a slow recovery shows what it waited for.
 */
import { sleep } from '@perpmesh/core';
import type { ServiceProcess } from '../e2e/harness.js';

export interface ReadinessChange {
  /** ms after `sinceMs`. */
  readonly atMs: number;
  readonly ready: boolean;
  /** `component: reason` of every not-ready component ('' when ready or not answering). */
  readonly reasons: string;
}

export interface ReadinessTimeline {
  readonly changes: readonly ReadinessChange[];
  /** ms from `sinceMs` to the last change to ready (0: ready throughout). */
  readonly readyAgainAtMs: number;
  /** Total ms not ready (or not answering) while watched. */
  readonly notReadyMs: number;
}

export class ReadinessWatch {
  readonly #changes: ReadinessChange[] = [];
  #stopped = false;
  #notReadyMs = 0;
  readonly #done: Promise<void>;

  constructor(
    readonly process: ServiceProcess,
    readonly sinceMs: number,
    intervalMs = 100,
  ) {
    this.#done = this.#run(intervalMs);
  }

  async #run(intervalMs: number): Promise<void> {
    let last: ReadinessChange | undefined;
    let lastAt = Date.now();
    while (!this.#stopped) {
      const seen = await this.process.readyz();
      const now = Date.now();
      if (last && !last.ready) this.#notReadyMs += now - lastAt;
      lastAt = now;
      const ready = seen?.status === 200;
      const reasons = seen
        ? seen.body.components
            .filter((c) => !c.ready)
            .map((c) => `${c.name}: ${c.reason ?? ''}`)
            .join('; ')
        : 'not answering';
      if (!last || last.ready !== ready || last.reasons !== reasons) {
        last = { atMs: now - this.sinceMs, ready, reasons };
        this.#changes.push(last);
      }
      await sleep(intervalMs);
    }
  }

  /** Stops watching (again: the same timeline). */
  async stop(): Promise<ReadinessTimeline> {
    this.#stopped = true;
    await this.#done;
    const lastReady = [...this.#changes].reverse().find((c) => c.ready);
    const everNotReady = this.#changes.some((c) => !c.ready);
    return {
      changes: this.#changes,
      readyAgainAtMs: everNotReady && lastReady ? lastReady.atMs : 0,
      notReadyMs: this.#notReadyMs,
    };
  }
}

/** One line per change: `+1234 ms not ready: strategy/arb1/started: ...`. */
export function describeTimeline(timeline: ReadinessTimeline): string {
  return timeline.changes
    .map((c) => `+${c.atMs} ms ${c.ready ? 'ready' : `not ready: ${c.reasons}`}`)
    .join('\n');
}
