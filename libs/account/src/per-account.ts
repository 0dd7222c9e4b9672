/**
 * `account.ownership: per_account` (README "Per-account ownership"): the replicas sharing a
 * `consumerName` divide the (venue, account) pairs through @perpmesh/state `SharedLeases`,
 * and this replica runs one account service per pair it owns: that account's venue polls,
 * user stream, drift checks, acct.* publishing and its own projectors (fills and funding of
 * that account only, under `<consumerName>-<venue>-<account>` names).
 *
 * - Each lease round (every `leaseRenewInterval`) starts the owners of pairs gained and stops
 *   those of pairs lost; a pair handed away leaves no component behind in readiness.
 * - A round that fails (store unreachable) keeps the owners until our leases would have
 *   lapsed (`leaseTtl` after the last good round), then stops them all: another replica may
 *   own them by then. Writes of a stale owner are fenced as in single mode (compare-and-set
 *   projection saves, fact ids).
 * - Reads over gRPC for an account another replica owns are forwarded to the holder of its
 *   lease (forwarding.ts; balances and venue positions live in the owner's memory, not in the
 *   store); a read over every account gathers each account from its owner. Nobody holding it
 *   (a takeover in progress): AccountOwnershipMovingError (UNAVAILABLE). Without forwarding,
 *   and for a forwarded call, an account owned elsewhere answers AccountNotOwnedError
 *   (NOT_FOUND) naming the stored lease holder.
 * - Without `lease` (one process, the embedded runner) this replica owns every pair.
 */
import type {
  AccountServiceClient,
  AccountServiceServer,
  AccountSummary,
  GetAccountSummaryRequest,
  GetAccountSummaryResponse,
  GetBalancesRequest,
  GetBalancesResponse,
  GetPositionsRequest,
  GetPositionsResponse,
} from '@perpmesh/contracts';
import type { EpochMs } from '@perpmesh/core';
import { errorText, ValidationError } from '@perpmesh/core';
import { type GrpcCallContext, grpcHandlers, type PeerUnary } from '@perpmesh/runtime';
import { ReplicaAddresses, type SharedLeaseRound, SharedLeases } from '@perpmesh/state';
import type { VenueDirectory, VenuePort } from '@perpmesh/venues';
import { PORT_READINESS_REFRESH_MS, PortReadinessMirror } from '@perpmesh/venues';
import type { AccountSettings } from './config.js';
import { AccountNotOwnedError, AccountOwnershipMovingError } from './errors.js';
import {
  ACCOUNT_ADDRESS_SCOPE,
  type AccountForwarding,
  AccountRouter,
  deadlineMs,
  isForwardedAccountCall,
} from './forwarding.js';
import { type AccountMetrics, accountMetrics } from './metrics.js';
import type { OwnedAccount } from './projectors.js';
import type { AccountSummaryReading, BalanceReading, PositionReading } from './readings.js';
import { summaryTotals } from './readings.js';
import {
  type AccountFilter,
  type AccountService,
  type AccountServiceDeps,
  accountComponents,
  accountGrpcOf,
  filterOf,
} from './service.js';
import {
  balanceViewToProto,
  positionViewToProto,
  summaryFromProto,
  summaryToProto,
  totalsToProto,
} from './wire.js';

/** Lease scopes of per-account ownership; the names are `<consumerName>` + slot / pair. */
export const ACCOUNT_MEMBER_SCOPE = 'account-member';
export const ACCOUNT_OWNER_SCOPE = 'account-owner';

/** Builds the service of one owned account (deps without a lease, the one port, shared metrics). */
export type OwnedAccountServiceFactory = (
  deps: AccountServiceDeps,
  owned: OwnedAccount,
  metrics: AccountMetrics,
) => AccountService;

export function buildPerAccountService(
  deps: AccountServiceDeps,
  settings: AccountSettings,
  ownedService: OwnedAccountServiceFactory,
): AccountService {
  return new PerAccountService(deps, settings, ownedService);
}

/** `venue|account`: the pair's lease name. */
function pairKeyOf(venue: string, account: string): string {
  return `${venue}|${account}`;
}

/** A directory of one port: the owned account's service sees nothing else. */
function singlePortDirectory(port: VenuePort, all: VenueDirectory): VenueDirectory {
  const mine = (venue: string, account?: string) =>
    venue === port.venue && (account === undefined || account === port.account);
  return {
    port: (venue, account) => (mine(venue, account) ? port : all.port(venue, account)),
    marketPort: (venue) => all.marketPort(venue),
    has: (venue, account) => mine(venue, account),
    all: () => [port],
    venues: () => [port.venue],
    // The ports belong to the whole directory; its owner closes them.
    close: async () => {},
  };
}

class PerAccountService implements AccountService {
  readonly settings: AccountSettings;
  readonly grpc: AccountService['grpc'];
  readonly #deps: AccountServiceDeps;
  readonly #ownedService: OwnedAccountServiceFactory;
  readonly #metrics: AccountMetrics;
  readonly #ownedGauge: { set(value: number): void };
  readonly #ports = new Map<string, VenuePort>();
  readonly #leases: SharedLeases | undefined;
  /** pair key → the running service of an owned account. */
  readonly #owners = new Map<string, AccountService>();
  readonly #portReadiness: PortReadinessMirror;
  readonly #forwarding: AccountForwarding | undefined;
  readonly #addresses: ReplicaAddresses | undefined;
  readonly #router: AccountRouter | undefined;
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #lastGoodRoundMs: EpochMs | undefined;
  /** The round the watchdog last saw pending after our leases lapsed. */
  #lapsedRound: Promise<void> | undefined;
  /** The owner changes in order (see #own). */
  #owning: Promise<void> = Promise.resolve();

  constructor(deps: AccountServiceDeps, settings: AccountSettings, ownedService: OwnedAccountServiceFactory) {
    this.#deps = deps;
    this.settings = settings;
    this.#ownedService = ownedService;
    this.#metrics = accountMetrics(deps.metrics);
    this.#ownedGauge = deps.metrics?.gauge(
      'perpmesh_account_owned_accounts',
      'The (venue, account) pairs this replica owns (per_account ownership)',
    ) ?? { set: () => {} };
    for (const port of deps.venues.all()) this.#ports.set(pairKeyOf(port.venue, port.account), port);
    this.#leases =
      deps.lease === undefined
        ? undefined
        : new SharedLeases({
            store: deps.lease.store,
            memberScope: `${ACCOUNT_MEMBER_SCOPE}:${settings.consumerName}`,
            keyScope: `${ACCOUNT_OWNER_SCOPE}:${settings.consumerName}`,
            holder: deps.lease.holder,
            keys: [...this.#ports.keys()],
            ttlMs: settings.leaseTtlMs,
            maxReplicas: settings.maxReplicas,
            maxReplicasField: 'account.maxReplicas',
            nowMs: deps.nowMs,
          });
    this.#portReadiness = new PortReadinessMirror({
      health: deps.health,
      ports: () => [...this.#ports.values()],
      nowMs: deps.nowMs,
    });
    this.#forwarding = deps.lease?.forward;
    if (this.#leases !== undefined && deps.lease?.forward !== undefined) {
      const leases = this.#leases;
      this.#addresses = new ReplicaAddresses(
        deps.lease.store,
        `${ACCOUNT_ADDRESS_SCOPE}:${settings.consumerName}`,
      );
      this.#router = new AccountRouter({
        ...this.#forwarding,
        addresses: this.#addresses,
        liveMembers: () => leases.members,
      });
    }
    const local = accountGrpcOf(this, deps.logger);
    this.grpc = {
      definition: local.definition,
      implementation: this.#grpcImplementation(local.implementation),
    };
  }

  get active(): boolean {
    return this.#owners.size > 0;
  }

  /** The pairs this replica owns now (`venue|account`). */
  get owned(): string[] {
    return [...this.#owners.keys()];
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`account service: start() called when ${this.#state}`);
    this.#state = 'running';
    this.#portReadiness.start(PORT_READINESS_REFRESH_MS);
    if (this.#leases === undefined) {
      await this.#own([...this.#ports.keys()]);
      return;
    }
    this.#deps.health.register(accountComponents.lease, 'account leases: first round pending');
    // Registered before the first round: the others can forward to us as soon as we own an account.
    const address = this.#forwarding?.address;
    if (address !== undefined) await this.#addresses?.register(this.#leases.holder, address);
    this.#watchdog = setInterval(() => void this.#checkHungRound(), this.settings.leaseRenewIntervalMs);
    this.#watchdog.unref();
    // The first round completes before start() returns: a lone replica owns everything at once.
    await this.#runRound();
  }

  #schedule(): void {
    if (this.#state !== 'running' || this.#leases === undefined || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#runRound();
    }, this.settings.leaseRenewIntervalMs);
    this.#timer.unref();
  }

  #runRound(): Promise<void> {
    this.#round ??= this.#leaseRound().finally(() => {
      this.#round = undefined;
      this.#schedule();
    });
    return this.#round;
  }

  async #leaseRound(): Promise<void> {
    const leases = this.#leases;
    if (leases === undefined || this.#state !== 'running') return;
    const { health } = this.#deps;
    let round: SharedLeaseRound;
    try {
      round = await leases.tick();
    } catch (err) {
      const now = this.#deps.nowMs();
      const lapsed =
        this.#lastGoodRoundMs === undefined || now - this.#lastGoodRoundMs >= this.settings.leaseTtlMs;
      this.#deps.logger.warn({ err: errorText(err), lapsed }, 'account lease round failed');
      // Our leases may have lapsed and another replica own the accounts: stop working them.
      if (lapsed) await this.#own([]);
      health.notReady(accountComponents.lease, `account leases: store unavailable: ${errorText(err)}`);
      return;
    }
    this.#lastGoodRoundMs = this.#deps.nowMs();
    for (const move of round.moved)
      this.#deps.logger.info({ account: move.key, from: move.from }, 'account taken over');
    if (this.#state !== 'running') return;
    await this.#own(round.owned);
    const member = round.members.includes(leases.holder);
    if (member) {
      health.ready(accountComponents.lease, { owns: this.owned, members: round.members });
    } else {
      health.notReady(
        accountComponents.lease,
        `account leases: no member slot free (${round.members.length} members, maxReplicas ${this.settings.maxReplicas})`,
      );
    }
  }

  /**
   * Fencing without the store: a round still pending when our leases have lapsed by our own
   * clock (a hung store, a partition) stops the owned accounts' work; the others own them now.
   */
  async #checkHungRound(): Promise<void> {
    const round = this.#round;
    const lapsed =
      round !== undefined &&
      this.#lastGoodRoundMs !== undefined &&
      this.#deps.nowMs() - this.#lastGoodRoundMs >= this.settings.leaseTtlMs;
    // The same round still pending at the next check: not one that just started after a clock jump.
    const hung = lapsed && this.#lapsedRound === round;
    this.#lapsedRound = lapsed ? round : undefined;
    if (!hung || this.#owners.size === 0) return;
    this.#deps.logger.warn(
      { owned: this.owned },
      'account leases lapsed while their renewal was pending: stepping down',
    );
    this.#deps.health.notReady(
      accountComponents.lease,
      'account leases: lapsed while their renewal was pending',
    );
    await this.#own([]);
  }

  /**
   * Starts the owners of `keys` not running yet; stops those not in `keys`. One change at a
   * time: the watchdog's step-down runs beside a round, and a round that ends after it must
   * not start an account's work while its previous owner is still stopping (and then lose its
   * readiness to that stop).
   */
  #own(keys: readonly string[]): Promise<void> {
    const change = this.#owning.then(() => this.#ownNow(keys));
    this.#owning = change.catch(() => undefined);
    return change;
  }

  async #ownNow(keys: readonly string[]): Promise<void> {
    const wanted = new Set(keys);
    for (const [key, service] of [...this.#owners]) {
      if (wanted.has(key)) continue;
      this.#owners.delete(key);
      await this.#stopOwner(key, service);
    }
    for (const key of keys) {
      if (this.#owners.has(key) || this.#state !== 'running') continue;
      const port = this.#ports.get(key);
      if (port === undefined) continue; // unreachable: the keys are the ports'
      const { lease: _lease, ...shared } = this.#deps;
      const service = this.#ownedService(
        { ...shared, venues: singlePortDirectory(port, this.#deps.venues) },
        { venue: port.venue, account: port.account },
        this.#metrics,
      );
      try {
        await service.start();
        this.#owners.set(key, service);
        this.#deps.logger.info({ account: key }, 'account owned: working it');
      } catch (err) {
        // Still leased: the next round tries again.
        this.#deps.logger.error({ account: key, err: errorText(err) }, 'cannot start the owned account');
        await this.#stopOwner(key, service);
      }
    }
    this.#ownedGauge.set(this.#owners.size);
  }

  /** Stops one owned account's work and takes its components out of readiness (another replica has them). */
  async #stopOwner(key: string, service: AccountService): Promise<void> {
    await service.stop().catch((err: unknown) => {
      this.#deps.logger.warn({ account: key, err: errorText(err) }, 'owned account stop failed');
    });
    const [venue, account] = key.split('|') as [string, string];
    const { health } = this.#deps;
    health.unregister(accountComponents.balances(venue, account));
    health.unregister(accountComponents.positions(venue, account));
    health.unregister(accountComponents.userStream(venue, account));
    health.unregister(accountComponents.ownedProjection(venue, account));
  }

  async stop(): Promise<void> {
    this.#portReadiness.stop();
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    clearInterval(this.#watchdog);
    await this.#round?.catch(() => undefined);
    await this.#own([]);
    // Released at once: the other replicas take the accounts on their next round, not after the TTL.
    await this.#leases?.releaseAll().catch((err: unknown) => {
      this.#deps.logger.warn(
        { err: errorText(err) },
        'account lease release failed; they lapse after the TTL',
      );
    });
    const address = this.#forwarding?.address;
    if (address !== undefined && this.#leases) {
      await this.#addresses?.unregister(this.#leases.holder, address).catch((err: unknown) => {
        this.#deps.logger.warn({ err: errorText(err) }, 'account address unregister failed');
      });
    }
    this.#router?.close();
    if (this.#leases) this.#deps.health.notReady(accountComponents.lease, 'account lease: service stopped');
  }

  /**
   * The gRPC reads: each account from its owner (forwarded when another replica owns it);
   * venue readiness is every port's, tracked by every replica.
   */
  #grpcImplementation(local: AccountServiceServer): AccountServiceServer {
    const h = grpcHandlers({ logger: this.#deps.logger });
    return {
      getVenueReadiness: local.getVenueReadiness,
      getBalances: h.unary(async (req: GetBalancesRequest, ctx) => {
        const { mine, theirs } = await this.#gather(
          req,
          ctx,
          (c) => c.getBalances.bind(c) as PeerUnary<GetBalancesRequest, GetBalancesResponse>,
        );
        return {
          balances: [
            ...mine.flatMap((f) => this.balances(f).map(balanceViewToProto)),
            ...theirs.flatMap((r) => r.balances),
          ],
        };
      }),
      getPositions: h.unary(async (req: GetPositionsRequest, ctx) => {
        const { mine, theirs } = await this.#gather(
          req,
          ctx,
          (c) => c.getPositions.bind(c) as PeerUnary<GetPositionsRequest, GetPositionsResponse>,
        );
        return {
          positions: [
            ...mine.flatMap((f) => this.positions(f).map(positionViewToProto)),
            ...theirs.flatMap((r) => r.positions),
          ],
        };
      }),
      getAccountSummary: h.unary(async (req: GetAccountSummaryRequest, ctx) => {
        const { mine, theirs } = await this.#gather(
          req,
          ctx,
          (c) =>
            c.getAccountSummary.bind(c) as PeerUnary<GetAccountSummaryRequest, GetAccountSummaryResponse>,
        );
        const readings = [
          ...mine.flatMap((f) => this.summary(f)),
          ...theirs.flatMap((r) => r.accounts.map(summaryFromProto)),
        ];
        const accounts: AccountSummary[] = readings.map(summaryToProto);
        return { accounts, totals: summaryTotals(readings).map(totalsToProto) };
      }),
    };
  }

  /**
   * The accounts `req` names, split: `mine` (one filter per account this replica owns) and
   * `theirs` (the answers of the owners of the others, asked in parallel, one call per
   * account). A forwarded call, or one without forwarding, answers from this replica only:
   * an account it names that another replica owns is NOT_FOUND naming the stored holder.
   */
  async #gather<Req extends { venue: string; account: string }, Res>(
    req: Req,
    ctx: GrpcCallContext,
    method: (c: AccountServiceClient) => PeerUnary<Req, Res>,
  ): Promise<{ mine: AccountFilter[]; theirs: Res[] }> {
    const filter = filterOf(req);
    const mine: AccountFilter[] = [];
    const asks: Promise<Res>[] = [];
    const router = isForwardedAccountCall(ctx.metadata) ? undefined : this.#router;
    for (const port of this.#configuredFor(filter)) {
      const key = pairKeyOf(port.venue, port.account);
      const pairFilter = { ...filter, venue: port.venue, account: port.account };
      if (this.#owners.has(key)) {
        mine.push(pairFilter);
        continue;
      }
      const holder = await this.#leases?.currentOwner(key);
      if (router === undefined || this.#leases === undefined) {
        // A list over every account answers ours; one account named answers who has it.
        if (filter.account) throw new AccountNotOwnedError(port.venue, port.account, holder);
        continue;
      }
      // Nobody holds it, or we hold its lease but its owner has not started yet.
      if (holder === undefined || holder === this.#leases.holder)
        throw new AccountOwnershipMovingError(port.venue, port.account);
      asks.push(
        router.ask(
          holder,
          method,
          { ...req, venue: port.venue, account: port.account },
          deadlineMs(ctx.deadline),
        ),
      );
    }
    return { mine, theirs: await Promise.all(asks) };
  }

  /**
   * The owners a query reaches. Naming an account we do not own: AccountNotOwnedError with
   * the replica that should have it; an unknown venue or account: a ValidationError.
   */
  #ownersFor(filter: AccountFilter): AccountService[] {
    const owners: AccountService[] = [];
    for (const port of this.#configuredFor(filter)) {
      const key = pairKeyOf(port.venue, port.account);
      const owner = this.#owners.get(key);
      if (owner) owners.push(owner);
      else if (filter.account)
        throw new AccountNotOwnedError(port.venue, port.account, this.#leases?.expectedOwner(key));
    }
    return owners;
  }

  /** The configured (venue, account) ports `filter` names; an unknown venue or account: a ValidationError. */
  #configuredFor(filter: AccountFilter): VenuePort[] {
    const configured = [...this.#ports.values()].filter(
      (p) => (!filter.venue || p.venue === filter.venue) && (!filter.account || p.account === filter.account),
    );
    if (filter.venue && !this.#deps.venues.has(filter.venue))
      throw new ValidationError('venue', `unknown venue ${JSON.stringify(filter.venue)}`);
    if (filter.account && configured.length === 0) {
      throw new ValidationError(
        'account',
        `unknown account ${JSON.stringify(filter.account)}${filter.venue ? ` on venue ${filter.venue}` : ''}`,
      );
    }
    return configured;
  }

  balances(filter: AccountFilter = {}): BalanceReading[] {
    return this.#ownersFor(filter).flatMap((o) => o.balances(filter));
  }

  positions(filter: AccountFilter = {}): PositionReading[] {
    return this.#ownersFor(filter).flatMap((o) => o.positions(filter));
  }

  summary(filter: AccountFilter = {}): AccountSummaryReading[] {
    return this.#ownersFor(filter).flatMap((o) => o.summary(filter));
  }

  portReadiness(filter: AccountFilter = {}) {
    return this.#portReadiness.views(filter);
  }

  async refresh(): Promise<void> {
    await Promise.all([...this.#owners.values()].map((o) => o.refresh()));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.#owners.values()].map((o) => o.flush()));
  }

  async idle(): Promise<void> {
    await Promise.all([...this.#owners.values()].map((o) => o.idle()));
  }

  /** One lease round now (tests; the timer runs them every `leaseRenewInterval`). */
  tick(): Promise<void> {
    return this.#runRound();
  }

  projectorStats() {
    const total = { fills: { applied: 0, skipped: 0 }, funding: { applied: 0, skipped: 0 } };
    for (const o of this.#owners.values()) {
      const s = o.projectorStats();
      for (const k of ['fills', 'funding'] as const) {
        total[k].applied += s[k].applied;
        total[k].skipped += s[k].skipped;
      }
    }
    return total;
  }
}
