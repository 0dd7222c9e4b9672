/**
 * One sending replica per strict-nonce API key (issue 15).
 *
 * A venue with `capabilities.strictNonceOrder` (Lighter) refuses a nonce below one it already
 * took from the key, so allocation in order (one Redis counter) is not enough: two replicas
 * sending on one key overtake each other between allocation and arrival and the later nonce
 * refuses the earlier one. So execution replicas divide those keys through leases in the state
 * store (@perpmesh/state `SharedLeases`, as per-account ownership divides accounts):
 *
 * - Only the holder of a key's `exec-nonce-owner` lease signs anything with it (orders,
 *   cancels, cancel-all, the dead-man switch, account settings). PlaceOrder / CancelOrder /
 *   CancelAllOrders for a key another live replica holds are forwarded to it (grpc.ts); while
 *   nobody holds it, `NonceKeyMovingError` (UNAVAILABLE "ownership is moving"): never a
 *   stale-nonce refusal.
 * - A replica that gains a key resyncs the key's counter from the venue's next nonce before
 *   it sends anything with it (a dead holder may have used nonces the store never saw).
 * - A replica that gives a key up on purpose (a member joined, a clean stop) first stops
 *   taking new requests for it and lets the ones in flight finish (bounded), so the next
 *   holder's first nonce does not overtake them.
 * - The holder's own clock fences it: once `leaseTtl` has passed since the start of its last
 *   good round, it sends nothing more with the key (another replica may hold it by then).
 * - A replica killed -9 renews nothing and sends nothing more. When its death is provable
 *   (`leaseHolderProvablyDead`: same host and pid namespace, its pid gone or reused) the
 *   survivors leave it out of the members at their next round and take its keys from its
 *   unexpired leases at once; a call forwarded to it that fails starts that round now
 *   (`recheck`). Otherwise (another host: a missed heartbeat or a refused connection proves
 *   nothing, the owner may be alive behind a partition and still inside its own fence) its
 *   leases lapse within `leaseTtl` and the survivors take its keys then; until then a call
 *   for the key is UNAVAILABLE "ownership is moving" saying when the key frees up, and the
 *   readiness detail lists the key's holder and its lease's expiry.
 *
 * Keys of venues without strict order (Hyperliquid's nonce window, venues without nonces)
 * are not gated: any replica sends. Every trading port's key is leased all the same, because
 * a port opened while its venue was unreachable (a deferred port) learns its capabilities
 * only once connected. Without leases (one process, the embedded runner) this replica owns
 * every key.
 */
import { type EpochMs, errorText, PerpmeshError, withTimeout } from '@perpmesh/core';
import type { HealthRegistry, Logger } from '@perpmesh/runtime';
import {
  type HolderVerdict,
  type LeaseHolder,
  leaseHolderProvablyDead,
  preferredOwner,
  type SharedLeaseRound,
  SharedLeases,
  type StateStore,
} from '@perpmesh/state';
import type { VenuePort } from '@perpmesh/venues';
import { resyncNonceFromVenue } from './nonce-sender.js';

export const NONCE_MEMBER_SCOPE = 'exec-nonce-member';
export const NONCE_OWNER_SCOPE = 'exec-nonce-owner';
export const NONCE_KEYS_COMPONENT = 'execution/nonce-keys';
/**
 * How soon the next round runs while a key this replica is preferred for is still held by its
 * previous owner (which gives it up once its requests in flight are done): the key is
 * "moving" meanwhile, so the gap is kept short instead of a whole renew interval.
 */
const TAKEOVER_RETRY_MS = 200;

/** The parts of a port that name its nonce key and say whether it needs one sender. */
export type NonceKeyPort = Pick<VenuePort, 'venue' | 'account' | 'apiKeyId' | 'capabilities'>;

/** True when the port's key must be used by one replica: nonces that must arrive in order. */
export function needsOneSender(port: Pick<VenuePort, 'capabilities'>): boolean {
  return port.capabilities.nonces && port.capabilities.strictNonceOrder === true;
}

/** The lease name of a port's nonce key (the store's nonce counter is per the same triple). */
export function nonceKeyName(port: Pick<VenuePort, 'venue' | 'account' | 'apiKeyId'>): string {
  return `${port.venue}|${port.account}|${port.apiKeyId}`;
}

/** Where a request signed with a key goes: here, to the replica `holder`, or nowhere yet. */
export type NonceKeyRoute =
  | { readonly kind: 'here' }
  | { readonly kind: 'owner'; readonly holder: string }
  | { readonly kind: 'moving' };

/** What this replica knows of one strict key, for `routeOf`. */
export interface NonceKeyView {
  /** Held by our last good round, resynced, and not being given up. */
  readonly usable: boolean;
  /** Until when our last good round's leases hold by our own clock (undefined: none held). */
  readonly validUntilMs: EpochMs | undefined;
  readonly nowMs: EpochMs;
  /** The stored unexpired holder, when read (only needed when the key is not usable here). */
  readonly storedHolder?: string | undefined;
  /** The last lease round proved `storedHolder`'s process dead: its lease is being taken over. */
  readonly storedHolderDead?: boolean;
  readonly self: string;
}

/** Pure: the route of a request for a strict key. */
export function routeOf(view: NonceKeyView): NonceKeyRoute {
  if (usableHere(view)) return { kind: 'here' };
  const holder = view.storedHolder;
  if (holder === undefined || holder === view.self || view.storedHolderDead) return { kind: 'moving' };
  return { kind: 'owner', holder };
}

/** Pure: the key may be signed with here now. */
export function usableHere(view: Pick<NonceKeyView, 'usable' | 'validUntilMs' | 'nowMs'>): boolean {
  return view.usable && view.validUntilMs !== undefined && view.nowMs < view.validUntilMs;
}

/** Why a key is moving and when it frees up at the latest, for `NonceKeyMovingError`. */
export interface NonceKeyMove {
  /** E.g. `its owner execution replica X did not answer: ...`. */
  readonly why?: string;
  /** When the current holder's lease lapses (then the next lease round of a survivor takes it). */
  readonly freesAtMs?: EpochMs;
}

/** No replica can sign with the key right now (a takeover or a hand-over in progress): retry. */
export class NonceKeyMovingError extends PerpmeshError {
  constructor(port: Pick<VenuePort, 'venue' | 'account'>, move: NonceKeyMove = {}) {
    const why = move.why === undefined ? '' : `; ${move.why}`;
    const frees =
      move.freesAtMs === undefined
        ? ''
        : `; its owner's lease lapses at ${new Date(move.freesAtMs).toISOString()}, a survivor takes the key after that`;
    super(
      'UNAVAILABLE',
      `${port.venue}/${port.account}: no execution replica owns this API key's nonces right now (ownership is moving to another replica${why}${frees}): retry`,
    );
  }
}

/** The key is owned by another replica (a forwarded call, or a caller that cannot forward). */
export class NonceKeyOwnedElsewhereError extends PerpmeshError {
  readonly holder: string;
  constructor(port: Pick<VenuePort, 'venue' | 'account'>, holder: string) {
    super(
      'UNAVAILABLE',
      `${port.venue}/${port.account}: execution replica ${holder} owns this API key's nonces; send the request there (or through any replica that forwards): retry`,
    );
    this.holder = holder;
  }
}

/** What the engine asks before it signs with a key. */
export interface NonceKeyGate {
  /**
   * Opens a request signed with the port's key here; throws `NonceKeyMovingError` or
   * `NonceKeyOwnedElsewhereError` when this replica may not sign with it. The returned
   * function closes it (a key being given up waits for its open requests).
   */
  enter(port: NonceKeyPort): () => void;
  /** True when this replica may sign with the port's key now (work nobody asked for: skip it otherwise). */
  signsHere(port: NonceKeyPort): boolean;
}

export interface NonceKeyOwnershipOptions {
  readonly store: StateStore;
  /** Unique per process (no '|'): `processLeaseHolder(...)`. */
  readonly holder: string;
  /** Every trading port; only those needing one sender are leased. */
  readonly ports: readonly VenuePort[];
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly maxReplicas: number;
  readonly nowMs: () => EpochMs;
  readonly logger: Logger;
  readonly health: HealthRegistry;
  /** Bound of the wait for a key's requests in flight before it is given up. Default ttl/2. */
  readonly drainTimeoutMs?: number;
  /**
   * Whether another member's process is provably dead (its keys are then taken at once, not
   * after its lease lapses). Default `leaseHolderProvablyDead`; tests inject one.
   */
  readonly judgeHolder?: (holder: string) => HolderVerdict;
}

interface KeyState {
  readonly port: VenuePort;
  /** Held by our last good round. */
  held: boolean;
  /** The counter was resynced from the venue since we gained the key. */
  resynced: boolean;
  /** Being given up: no new request; the open ones finish first. */
  leaving: boolean;
  open: number;
  /** Wakes a `leaving` wait when `open` reaches 0. */
  drained: (() => void) | undefined;
}

export class NonceKeyOwnership implements NonceKeyGate {
  readonly #o: NonceKeyOwnershipOptions;
  readonly #keys = new Map<string, KeyState>();
  readonly #leases: SharedLeases | undefined;
  #validUntilMs: EpochMs | undefined;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #running = false;
  /** The last round left a key we are preferred for to be taken (or resynced): retry soon. */
  #takeoverPending = false;
  /** When the last round started (our clock): `recheck` runs no more often than TAKEOVER_RETRY_MS. */
  #lastRoundStartedMs = 0;
  /** Members the last round proved dead (their leases are taken over, not waited for). */
  #deadHolders: ReadonlySet<string> = new Set();
  /** Told of each key that becomes signable here (taken over, or first owned). */
  readonly #gainedListeners: Array<(port: VenuePort) => void> = [];

  constructor(options: NonceKeyOwnershipOptions) {
    this.#o = options;
    for (const port of options.ports) {
      const name = nonceKeyName(port);
      if (!this.#keys.has(name))
        this.#keys.set(name, {
          port,
          held: false,
          resynced: false,
          leaving: false,
          open: 0,
          drained: undefined,
        });
    }
    this.#leases =
      this.#keys.size === 0
        ? undefined
        : new SharedLeases({
            store: options.store,
            memberScope: NONCE_MEMBER_SCOPE,
            keyScope: NONCE_OWNER_SCOPE,
            holder: options.holder,
            keys: [...this.#keys.keys()],
            ttlMs: options.ttlMs,
            maxReplicas: options.maxReplicas,
            maxReplicasField: 'execution.nonceKeys.maxReplicas',
            nowMs: options.nowMs,
            beforeRelease: (key) => this.#giveUp(key),
            judgeMember: options.judgeHolder ?? leaseHolderProvablyDead,
          });
  }

  get holder(): string {
    return this.#o.holder;
  }

  /**
   * How long a key can stay without a usable owner when one replica is alive: a dead
   * holder's lease lapses (TTL), the next round takes it (a renew interval), then the resync.
   */
  get takeoverBoundMs(): number {
    return this.#o.ttlMs + 2 * this.#o.renewIntervalMs;
  }

  /** The live members seen in the last round. */
  get members(): readonly string[] {
    return this.#leases?.members ?? [];
  }

  /** The keys this replica signs with now (`venue|account|apiKeyId`). */
  get owned(): string[] {
    return [...this.#keys].filter(([, k]) => this.#usable(k)).map(([name]) => name);
  }

  /** The first round completes before this returns: a lone replica owns every key at once. */
  async start(): Promise<void> {
    if (this.#leases === undefined || this.#running) return;
    this.#running = true;
    this.#o.health.register(NONCE_KEYS_COMPONENT, 'strict-nonce API keys: first lease round pending');
    await this.#runRound();
  }

  /** Gives every key up at once (after its requests in flight), so the others take them now. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#round?.catch(() => undefined);
    for (const name of this.#keys.keys()) await this.#giveUp(name);
    await this.#leases?.releaseAll().catch((err: unknown) => {
      this.#o.logger.warn(
        { err: errorText(err) },
        'nonce key lease release failed; they lapse after the TTL',
      );
    });
    this.#o.health.notReady(NONCE_KEYS_COMPONENT, 'strict-nonce API keys: service stopped');
  }

  /** The port of (venue, account) when its key needs one sender (strict nonces); undefined otherwise. */
  portOf(venue: string, account: string): VenuePort | undefined {
    if (this.#leases === undefined) return undefined;
    for (const key of this.#keys.values())
      if (key.port.venue === venue && key.port.account === account && needsOneSender(key.port))
        return key.port;
    return undefined;
  }

  /** Where a request signed with the port's key goes now (reads the stored holder when it is not here). */
  async route(port: NonceKeyPort): Promise<NonceKeyRoute> {
    const key = this.#gated(port);
    if (key === undefined || this.#usable(key)) return { kind: 'here' };
    const storedHolder = await (this.#leases as SharedLeases).currentOwner(nonceKeyName(port));
    return routeOf({
      usable: false,
      validUntilMs: this.#validUntilMs,
      nowMs: this.#o.nowMs(),
      storedHolder,
      storedHolderDead: storedHolder !== undefined && this.#deadHolders.has(storedHolder),
      self: this.#o.holder,
    });
  }

  /** The key's stored unexpired lease (holder and expiry), for "frees up at" answers. */
  async storedLease(port: NonceKeyPort): Promise<LeaseHolder | undefined> {
    return this.#leases?.currentLease(nonceKeyName(port));
  }

  /**
   * A lease round as soon as the one in progress (if any) ends: a call to the key's owner
   * failed, so the members are judged again now instead of at the next renew interval. At
   * most one every `TAKEOVER_RETRY_MS`: many calls failing at once share a round.
   */
  async recheck(): Promise<void> {
    if (!this.#running) return;
    await this.#round?.catch(() => undefined);
    if (this.#o.nowMs() - this.#lastRoundStartedMs < TAKEOVER_RETRY_MS) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#runRound();
  }

  /** `listener(port)` each time a key becomes signable here (first owned, or taken over). */
  onKeyGained(listener: (port: VenuePort) => void): void {
    this.#gainedListeners.push(listener);
  }

  enter(port: NonceKeyPort): () => void {
    const key = this.#gated(port);
    if (key === undefined) return () => {};
    if (!this.#usable(key)) throw new NonceKeyMovingError(port);
    key.open += 1;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      key.open -= 1;
      if (key.open === 0) key.drained?.();
    };
  }

  signsHere(port: NonceKeyPort): boolean {
    const key = this.#gated(port);
    return key === undefined || this.#usable(key);
  }

  /** One lease round now (tests; a timer runs them every `renewIntervalMs`). */
  tick(): Promise<void> {
    return this.#runRound();
  }

  /** The key's state when requests signed with it need this replica to own it (strict nonces, leases on). */
  #gated(port: NonceKeyPort): KeyState | undefined {
    if (this.#leases === undefined || !needsOneSender(port)) return undefined;
    return this.#keys.get(nonceKeyName(port));
  }

  /** Held, resynced when strict, not being given up, and inside our lease by our own clock. */
  #usable(key: KeyState): boolean {
    return usableHere({
      usable: key.held && !key.leaving && (key.resynced || !needsOneSender(key.port)),
      validUntilMs: this.#validUntilMs,
      nowMs: this.#o.nowMs(),
    });
  }

  #runRound(): Promise<void> {
    this.#round ??= this.#leaseRound().finally(() => {
      this.#round = undefined;
      if (this.#running && this.#timer === undefined) {
        const delayMs = this.#takeoverPending
          ? Math.min(TAKEOVER_RETRY_MS, this.#o.renewIntervalMs)
          : this.#o.renewIntervalMs;
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          void this.#runRound();
        }, delayMs);
        this.#timer.unref();
      }
    });
    return this.#round;
  }

  async #leaseRound(): Promise<void> {
    const leases = this.#leases;
    if (leases === undefined || !this.#running) return;
    // Renewals in this round write expiries of at least start + ttl: the fence counts from here.
    const startedMs = this.#o.nowMs();
    this.#lastRoundStartedMs = startedMs;
    let round: SharedLeaseRound;
    try {
      round = await leases.tick();
    } catch (err) {
      this.#o.logger.warn({ err: errorText(err) }, 'nonce key lease round failed');
      this.#o.health.notReady(
        NONCE_KEYS_COMPONENT,
        `strict-nonce API keys: lease store unavailable: ${errorText(err)}`,
      );
      return;
    }
    this.#validUntilMs = startedMs + this.#o.ttlMs;
    const dead = new Set(round.deadMembers.map((m) => m.holder));
    for (const m of round.deadMembers)
      if (!this.#deadHolders.has(m.holder))
        this.#o.logger.warn(
          { holder: m.holder, reason: m.reason },
          'execution replica provably dead: its nonce keys are taken over now, not after its lease lapses',
        );
    this.#deadHolders = dead;
    for (const move of round.moved)
      this.#o.logger.info({ key: move.key, from: move.from }, 'nonce key taken over');
    const owned = new Set(round.owned);
    const member = round.members.includes(leases.holder);
    this.#takeoverPending = false;
    for (const [name, key] of this.#keys) {
      if (member && !owned.has(name) && preferredOwner(name, round.members) === leases.holder)
        this.#takeoverPending = true;
      if (!owned.has(name)) {
        key.held = false;
        key.resynced = false;
        key.leaving = false;
        continue;
      }
      if (!key.held) key.leaving = false;
      key.held = true;
      if (key.resynced || !needsOneSender(key.port) || !this.#running) continue;
      // Nothing is signed with a key we just gained before its counter is at the venue's next nonce.
      try {
        await withTimeout(
          resyncNonceFromVenue(this.#o.store, key.port),
          Math.max(1, Math.floor(this.#o.ttlMs / 2)),
          `resync of nonce key ${name}`,
        );
        key.resynced = true;
        this.#o.logger.info(
          { key: name },
          'nonce key owned: counter resynced from the venue; sending from here',
        );
        for (const listener of this.#gainedListeners) {
          try {
            listener(key.port);
          } catch (err) {
            this.#o.logger.warn({ key: name, err: errorText(err) }, 'nonce key gained: a listener failed');
          }
        }
      } catch (err) {
        this.#takeoverPending = true;
        this.#o.logger.warn(
          { key: name, err: errorText(err) },
          'nonce key owned but its resync from the venue failed; retrying next round',
        );
      }
    }
    if (member) {
      this.#o.health.ready(NONCE_KEYS_COMPONENT, {
        owns: this.owned,
        members: round.members,
        ...(dead.size > 0 ? { deadMembers: [...dead] } : {}),
        elsewhere: await this.#heldElsewhere(owned),
      });
    } else {
      this.#o.health.notReady(
        NONCE_KEYS_COMPONENT,
        `strict-nonce API keys: no member slot free (${round.members.length} members, maxReplicas ${this.#o.maxReplicas})`,
      );
    }
  }

  /**
   * The strict keys not held here: who holds each and when its lease lapses (what a survivor
   * waits for when the holder may be dead but is not provably so), or 'free'.
   */
  async #heldElsewhere(owned: ReadonlySet<string>): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const leases = this.#leases as SharedLeases;
    for (const [name, key] of this.#keys) {
      if (owned.has(name) || !needsOneSender(key.port)) continue;
      try {
        const lease = await leases.currentLease(name);
        out[name] =
          lease === undefined ? 'free' : `${lease.holder} until ${new Date(lease.expiresAtMs).toISOString()}`;
      } catch (err) {
        out[name] = `unknown: ${errorText(err)}`;
      }
    }
    return out;
  }

  /** Stops new requests on the key and waits (bounded) for the open ones before its lease goes. */
  async #giveUp(name: string): Promise<void> {
    const key = this.#keys.get(name);
    if (key === undefined) return;
    key.leaving = true;
    if (key.open > 0) {
      const timeoutMs = this.#o.drainTimeoutMs ?? Math.floor(this.#o.ttlMs / 2);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        key.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      key.drained = undefined;
      if (key.open > 0)
        this.#o.logger.warn(
          { key: name, open: key.open },
          'nonce key given up with requests still in flight after the drain bound',
        );
    }
    key.held = false;
    key.resynced = false;
  }
}
