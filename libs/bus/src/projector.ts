/**
 * At-most-once application of events to a projection.
 *
 * A durable consumer delivers at least once: an event whose handler ran but whose ack was
 * lost (crash, disconnect, stop) comes again. The projector makes that harmless: the
 * projection is stored together with the last stream sequence it has applied
 * (`applied[stream]`), both written in one atomic compare-and-set, and an event with
 * `seq <= applied[stream]` is skipped (and acked). So:
 *   crash before save  -> nothing written, the redelivery applies it (once);
 *   crash after save   -> state and seq written together, the redelivery is skipped;
 *   never a state written without its seq, or the reverse.
 *
 * `ProjectionStore` is structural so libs/state's stores (`loadProjection` /
 * `saveProjection`) satisfy it without this lib depending on them.
 */
import { PerpmeshError } from '@perpmesh/core';
import { PROJECTION_CONFLICT_CODE } from './errors.js';
import type { ConsumeOptions, ConsumerHandle, EventLog, StoredMessage } from './eventlog.js';
import type { ConsumerStats } from './failures.js';

/** Last applied sequence per stream. */
export type AppliedSeqs = Readonly<Record<string, number>>;

export interface ProjectionSnapshot<S> {
  readonly state: S;
  readonly applied: AppliedSeqs;
}

export interface ProjectionStore {
  /** The last saved state with the sequences it has applied, or undefined if none. */
  loadProjection<S>(name: string): Promise<ProjectionSnapshot<S> | undefined>;
  /**
   * Writes state and applied together, atomically, only if the stored applied still equals
   * `expectedApplied` (undefined = nothing saved yet). Otherwise writes nothing and throws
   * an error whose `code` is 'PROJECTION_CONFLICT'.
   */
  saveProjection<S>(
    name: string,
    state: S,
    applied: AppliedSeqs,
    expectedApplied: AppliedSeqs | undefined,
  ): Promise<void>;
}

function isConflict(err: unknown): boolean {
  return (err as { code?: unknown })?.code === PROJECTION_CONFLICT_CODE;
}

function sameApplied(a: AppliedSeqs | undefined, b: AppliedSeqs | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a?.[k] === b?.[k]);
}

/**
 * A ProjectionStore in memory, for tests and single-process use. It keeps snapshots as
 * structured clones, so a caller mutating its state object cannot change what is stored.
 */
export class InMemoryProjectionStore implements ProjectionStore {
  private readonly snapshots = new Map<string, ProjectionSnapshot<unknown>>();

  async loadProjection<S>(name: string): Promise<ProjectionSnapshot<S> | undefined> {
    const s = this.snapshots.get(name);
    return s ? (structuredClone(s) as ProjectionSnapshot<S>) : undefined;
  }

  async saveProjection<S>(
    name: string,
    state: S,
    applied: AppliedSeqs,
    expectedApplied: AppliedSeqs | undefined,
  ): Promise<void> {
    const current = this.snapshots.get(name);
    if (!sameApplied(current?.applied, expectedApplied)) {
      throw new PerpmeshError(
        PROJECTION_CONFLICT_CODE,
        `projection ${JSON.stringify(name)}: expected applied ${JSON.stringify(expectedApplied ?? {})}, ` +
          `store has ${JSON.stringify(current?.applied ?? {})}`,
      );
    }
    this.snapshots.set(name, structuredClone({ state, applied }));
  }
}

export interface ProjectorOptions<S> {
  readonly log: EventLog;
  readonly store: ProjectionStore;
  /** Projection name in the store (e.g. `account-positions`). */
  readonly name: string;
  /**
   * The durable consumer feeding it (its stream is the key in `applied`). `onMaxDeliver` is
   * always 'stop': an event the projection cannot take after `maxDeliver` tries stops the
   * projector (`closed` rejects with `PoisonEventError`, the owner reports not-ready)
   * instead of being skipped, which would leave the projection silently wrong.
   */
  readonly consume: Omit<ConsumeOptions, 'onMaxDeliver'>;
  readonly initialState: () => S;
  /** Pure: the state after `msg`. Must not mutate `state` (return a new one). */
  readonly apply: (state: S, msg: StoredMessage) => S | Promise<S>;
}

export interface ProjectorStats extends ConsumerStats {
  /** Events applied (and saved) by this runner. */
  readonly applied: number;
  /** Redelivered events skipped because the store had already applied them. */
  readonly skipped: number;
}

export interface ProjectorHandle extends ConsumerHandle {
  /** The state as last saved by this runner. */
  state(): unknown;
  stats(): ProjectorStats;
}

/** Starts consuming `consume.durable` and applying each event to the projection at most once. */
export async function runProjector<S>(opts: ProjectorOptions<S>): Promise<ProjectorHandle & { state(): S }> {
  const { log, store, name } = opts;
  let snapshot = await store.loadProjection<S>(name);
  let state: S = snapshot ? snapshot.state : opts.initialState();
  let applied = 0;
  let skipped = 0;

  // After a failed save the store may or may not hold the write (a timeout after commit):
  // the next delivery reloads instead of trusting the cached snapshot.
  let stale = false;

  const handle = await log.consume({ ...opts.consume, onMaxDeliver: 'stop' }, async (msg) => {
    // Two tries: a conflict means another writer (a late save of a previous incarnation,
    // or a standby that took over) moved the projection; reload and decide again.
    for (let tryNo = 1; ; tryNo++) {
      if (stale) {
        snapshot = await store.loadProjection<S>(name);
        state = snapshot ? snapshot.state : opts.initialState();
        stale = false;
      }
      const done = snapshot?.applied[msg.stream] ?? 0;
      if (msg.seq <= done) {
        skipped++;
        return; // already in the stored state: ack without applying
      }
      const next = await opts.apply(state, msg);
      const nextApplied = { ...(snapshot?.applied ?? {}), [msg.stream]: msg.seq };
      try {
        await store.saveProjection(name, next, nextApplied, snapshot?.applied);
      } catch (err) {
        stale = true;
        if (!isConflict(err) || tryNo >= 2) throw err; // the consumer naks; redelivered later
        continue;
      }
      snapshot = { state: next, applied: nextApplied };
      state = next;
      applied++;
      return;
    }
  });

  return {
    stop: () => handle.stop(),
    closed: handle.closed,
    state: () => state,
    stats: () => ({ ...handle.stats(), applied, skipped }),
  };
}
