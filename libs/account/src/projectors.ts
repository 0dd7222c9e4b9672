/**
 * The two account projectors, usable without an AccountService: the pure evolve functions
 * (a log message → the next projection state) and their `runProjector` wiring (durable
 * consumer names, streams, filters, snapshot names). The service runs them as the active
 * instance; a replay tool runs the same code into a scratch store (its own consumer name).
 *
 * A message the projection cannot use (undecodable, a malformed fill) would block the
 * consumer forever if thrown: it is reported through `events.rejected` and skipped.
 */
import type { EventLog, ProjectionStore, ProjectorHandle, StoredMessage } from '@perpmesh/bus';
import { runProjector } from '@perpmesh/bus';
import { decodeEnvelope, type Envelope, type Subjects } from '@perpmesh/contracts';
import {
  applyFillToProjection,
  applyFundingToProjection,
  emptyFundingProjection,
  emptyPositionsProjection,
  type FundingProjection,
  type PositionsProjection,
} from './projection.js';
import { fillFromWire, fundingFromWire } from './wire.js';

export type AccountProjectionKind = 'positions' | 'funding';

/** What the evolve functions report (metrics, logs); both optional. */
export interface ProjectorEvents {
  applied?(projection: AccountProjectionKind): void;
  rejected?(msg: StoredMessage, projection: AccountProjectionKind, err: unknown): void;
}

/** One (venue, account): what a per-account owner projects (README "Per-account ownership"). */
export interface OwnedAccount {
  readonly venue: string;
  readonly account: string;
}

/**
 * Store and consumer names derived from the consumer name (see AccountSettings.consumerName);
 * per account `<consumerName>-<venue>-<account>` (subject tokens: safe in durable names).
 */
export function accountProjectionNames(baseName: string, owned?: OwnedAccount) {
  const consumerName = owned === undefined ? baseName : `${baseName}-${owned.venue}-${owned.account}`;
  return {
    /** Snapshot of the fills projection. */
    positions: `${consumerName}-positions`,
    /** Snapshot of the funding projection (same text as its durable: different namespaces). */
    funding: `${consumerName}-funding`,
    fillsDurable: `${consumerName}-fills`,
    fundingDurable: `${consumerName}-funding`,
  };
}

function decoded(
  msg: StoredMessage,
  projection: AccountProjectionKind,
  events: ProjectorEvents,
): Envelope | undefined {
  try {
    return decodeEnvelope(msg.data);
  } catch (err) {
    events.rejected?.(msg, projection, err);
    return undefined;
  }
}

/** The positions projection after one EXEC message (anything but an exec.fill leaves it as is). */
export function evolvePositions(
  state: PositionsProjection,
  msg: StoredMessage,
  events: ProjectorEvents = {},
): PositionsProjection {
  const envelope = decoded(msg, 'positions', events);
  if (envelope?.payload?.$case !== 'fill') return state;
  try {
    const next = applyFillToProjection(state, fillFromWire(envelope.payload.value, envelope.tsEvent));
    events.applied?.('positions');
    return next;
  } catch (err) {
    events.rejected?.(msg, 'positions', err);
    return state;
  }
}

/** The funding projection after one ACCT message (anything but an acct.funding leaves it as is). */
export function evolveFunding(
  state: FundingProjection,
  msg: StoredMessage,
  events: ProjectorEvents = {},
): FundingProjection {
  const envelope = decoded(msg, 'funding', events);
  if (envelope?.payload?.$case !== 'fundingPayment') return state;
  try {
    const next = applyFundingToProjection(state, fundingFromWire(envelope.payload.value));
    events.applied?.('funding');
    return next;
  } catch (err) {
    events.rejected?.(msg, 'funding', err);
    return state;
  }
}

export interface AccountProjectorsOptions {
  readonly log: EventLog;
  readonly store: ProjectionStore;
  readonly subjects: Subjects;
  /** Prefix of the stream names (`streamSpecs({ prefix })`); '' in production. */
  readonly streamPrefix?: string;
  readonly consumerName: string;
  /** Project only this account's fills and funding (one filter subject per consumer). */
  readonly owned?: OwnedAccount;
  readonly events?: ProjectorEvents;
}

export interface AccountProjectors {
  readonly positions: ProjectorHandle & { state(): PositionsProjection };
  readonly funding: ProjectorHandle & { state(): FundingProjection };
}

/**
 * Starts both projectors: exec.fill from EXEC into `<name>-positions`, acct.funding from
 * ACCT into `<name>-funding`, each event applied at most once. If the second cannot start,
 * the first is stopped before the error is thrown.
 */
export async function runAccountProjectors(opts: AccountProjectorsOptions): Promise<AccountProjectors> {
  const { log, store, subjects } = opts;
  const prefix = opts.streamPrefix ?? '';
  const names = accountProjectionNames(opts.consumerName, opts.owned);
  const only = opts.owned === undefined ? {} : { venue: opts.owned.venue, account: opts.owned.account };
  const events = opts.events ?? {};
  const positions = await runProjector<PositionsProjection>({
    log,
    store,
    name: names.positions,
    consume: {
      stream: `${prefix}EXEC`,
      durable: names.fillsDurable,
      filterSubject: subjects.filter('execFill', only),
    },
    initialState: emptyPositionsProjection,
    apply: (s, msg) => evolvePositions(s, msg, events),
  });
  try {
    const funding = await runProjector<FundingProjection>({
      log,
      store,
      name: names.funding,
      consume: {
        stream: `${prefix}ACCT`,
        durable: names.fundingDurable,
        filterSubject: subjects.filter('acctFunding', only),
      },
      initialState: emptyFundingProjection,
      apply: (s, msg) => evolveFunding(s, msg, events),
    });
    return { positions, funding };
  } catch (err) {
    await positions.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * `store`, calling `onStored(name, state)` after each save (state and applied sequence
 * stored together) and each load: what the projector holds is what the caller serves. A
 * save that failed may still have landed (a timeout after the commit); the projector then
 * reloads before the redelivery, and the load reports it.
 */
export function observedProjectionStore(
  store: ProjectionStore,
  onStored: (name: string, state: unknown) => void,
): ProjectionStore {
  return {
    loadProjection: async <S>(name: string) => {
      const snapshot = await store.loadProjection<S>(name);
      if (snapshot !== undefined) onStored(name, snapshot.state);
      return snapshot;
    },
    saveProjection: async (name, state, applied, expected) => {
      await store.saveProjection(name, state, applied, expected);
      onStored(name, state);
    },
  };
}
