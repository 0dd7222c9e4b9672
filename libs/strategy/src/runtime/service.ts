/**
 * `buildStrategyService(deps)`: the strategy service's logic over ports — one
 * `StrategyRunner` per configured instance, and StrategyService (gRPC) over them.
 * No sockets, env or adapters are made here: services/strategy and the embedded runner
 * pass the event log, state store, order gateway and readers they built.
 */
import type { EventLog } from '@perpmesh/bus';
import {
  type StrategyInstance,
  StrategyMode,
  type StrategyServiceServer,
  StrategyServiceService,
  type Subjects,
  TRADING_STATE,
} from '@perpmesh/contracts';
import { type EpochMs, PerpmeshError, ValidationError } from '@perpmesh/core';
import { grpcHandlers, type HealthRegistry, type Logger, type ServiceMetrics } from '@perpmesh/runtime';
import { processLeaseHolder, type StateStore } from '@perpmesh/state';
import { makeStrategyDecider } from '../config.js';
import type { OperatorAction } from '../model.js';
import { fundingArbStrategy } from '../strategies/funding-arb/definition.js';
import { arbBookReport, type FundingArbState } from '../strategies/funding-arb/index.js';
import type { TradingState } from '../world.js';
import { AlarmWebhook, type AlarmWebhookOptions, type AlarmWebhookStats } from './alarm-webhook.js';
import { arbBookToProto } from './arb-book-proto.js';
import type { StrategyInstanceSpec, StrategyRuntimeSettings } from './config.js';
import { type AccountReader, DryRunRecorder, type MarketsSource, type OrderGateway } from './gateway.js';
import { strategyActivityMetrics, strategyStageObserver } from './metrics.js';
import { StrategyRunner } from './runner.js';

export interface StrategyServiceDeps {
  readonly log: EventLog;
  readonly state: StateStore;
  readonly subjects: Subjects;
  /** '' in production; the namespace prefix of stream names otherwise. */
  readonly streamPrefix: string;
  /** Live orders: the execution service's client. Dry-run instances get a DryRunRecorder each. */
  readonly orders: OrderGateway;
  readonly account: AccountReader;
  readonly markets: MarketsSource;
  readonly health: HealthRegistry;
  readonly logger: Logger;
  readonly nowMs: () => EpochMs;
  /** `strategy/<instance>` */
  readonly source: string;
  /** Lease holder name, unique per process (default: source + random + this process's identity). */
  readonly holder?: string;
  readonly instances: ReadonlyArray<StrategyInstanceSpec>;
  readonly settings: StrategyRuntimeSettings;
  /** Where the stage histograms go (metrics.ts `perpmesh_strategy_stage_seconds`); none: not measured. */
  readonly metrics?: ServiceMetrics;
  /** `strategy.alarms.webhook`: alarm decisions are also POSTed there (alarm-webhook.ts); none: log only. */
  readonly alarmWebhook?: AlarmWebhookOptions;
}

export interface StrategyService {
  start(): Promise<void>;
  /** Cancels every strategy's open orders (positions kept), saves, releases the leases. */
  stop(): Promise<void>;
  readonly grpc: {
    readonly definition: typeof StrategyServiceService;
    readonly implementation: StrategyServiceServer;
  };
  runner(strategyId: string): StrategyRunner;
  runners(): StrategyRunner[];
  /** The recorder of a dry-run instance (every intended order). */
  recorder(strategyId: string): DryRunRecorder | undefined;
  /** The alarm webhook's counters; undefined when none is configured. */
  alarmWebhookStats(): AlarmWebhookStats | undefined;
  /** The kill switch for every strategy (the gateway's TradingStateService shape). */
  setTradingState(change: {
    state: 'ACTIVE' | 'REDUCING' | 'HALTED';
    reason: string;
    strategyId?: string;
  }): Promise<{
    state: 'ACTIVE' | 'REDUCING' | 'HALTED';
    previous: Array<'ACTIVE' | 'REDUCING' | 'HALTED'>;
    strategies: string[];
  }>;
}

const ACTION_OF: Record<TradingState, OperatorAction> = {
  active: 'resume',
  reducing: 'reduce',
  halted: 'halt',
};
const NAME_OF: Record<TradingState, 'ACTIVE' | 'REDUCING' | 'HALTED'> = {
  active: 'ACTIVE',
  reducing: 'REDUCING',
  halted: 'HALTED',
};

export class UnknownStrategyError extends PerpmeshError {
  constructor(strategyId: string, known: string[]) {
    super(
      'NOT_FOUND',
      `no strategy ${JSON.stringify(strategyId)} here (running: ${known.join(', ') || 'none'})`,
    );
  }
}

export function buildStrategyService(deps: StrategyServiceDeps): StrategyService {
  // Names this process (host, pid, start time) so a restart after a crash can prove it dead
  // and take its lease at once (libs/state process-identity.ts).
  const holder =
    deps.holder ?? processLeaseHolder(`${deps.source} ${Math.random().toString(36).slice(2, 8)}`);
  const recorders = new Map<string, DryRunRecorder>();
  const runners = new Map<string, StrategyRunner>();
  const onStage = deps.metrics ? strategyStageObserver(deps.metrics) : undefined;
  const webhook = deps.alarmWebhook ? new AlarmWebhook(deps.alarmWebhook) : undefined;
  const activity = deps.metrics ? strategyActivityMetrics(deps.metrics, () => runners.values()) : undefined;
  for (const spec of deps.instances) {
    let gateway = deps.orders;
    if (spec.mode === 'dry_run') {
      const recorder = new DryRunRecorder({ nowMs: deps.nowMs });
      recorders.set(spec.id, recorder);
      gateway = recorder;
    }
    runners.set(
      spec.id,
      new StrategyRunner({
        spec,
        decider: makeStrategyDecider(spec.config),
        log: deps.log,
        state: deps.state,
        subjects: deps.subjects,
        streams: {
          exec: `${deps.streamPrefix}EXEC`,
          acct: `${deps.streamPrefix}ACCT`,
          strat: `${deps.streamPrefix}STRAT`,
          md: `${deps.streamPrefix}MD`,
        },
        gateway,
        account: deps.account,
        markets: deps.markets,
        health: deps.health,
        logger: deps.logger.child({
          strategyId: spec.id,
          mode: spec.mode === 'dry_run' ? 'DRY-RUN' : 'live',
        }),
        nowMs: deps.nowMs,
        source: deps.source,
        holder,
        settings: deps.settings,
        ...(onStage ? { onStage } : {}),
        ...(webhook ? { onDecision: (record) => webhook.offer(record) } : {}),
        ...(activity ? { activity } : {}),
      }),
    );
  }

  const runner = (id: string): StrategyRunner => {
    const r = runners.get(id);
    if (!r) throw new UnknownStrategyError(id, [...runners.keys()]);
    return r;
  };
  const selected = (id: string): StrategyRunner[] => (id ? [runner(id)] : [...runners.values()]);

  async function setTradingState(change: {
    state: 'ACTIVE' | 'REDUCING' | 'HALTED';
    reason: string;
    strategyId?: string;
  }) {
    const target = change.state.toLowerCase() as TradingState;
    if (!(target in ACTION_OF)) {
      throw new ValidationError(
        'state',
        `must be ACTIVE, REDUCING or HALTED, got ${JSON.stringify(change.state)}`,
      );
    }
    const list = selected(change.strategyId ?? '');
    const previous = list.map((r) => NAME_OF[r.world.tradingState]);
    for (const r of list) await r.operator(ACTION_OF[target], change.reason || 'operator');
    return { state: change.state, previous, strategies: list.map((r) => r.id) };
  }

  const h = grpcHandlers();
  const implementation: StrategyServiceServer = {
    listStrategies: h.unary(async () => ({ strategies: [...runners.values()].map(instanceView) })),
    getTradingState: h.unary(async (req) => ({ strategies: selected(req.strategyId).map(instanceView) })),
    setTradingState: h.unary(async (req) => {
      const name = TRADING_STATE.fromProto(req.state, 'state');
      const res = await setTradingState({ state: name, reason: req.reason, strategyId: req.strategyId });
      return {
        strategies: res.strategies.map((id) => instanceView(runner(id))),
        previous: res.previous.map((p) => TRADING_STATE.toProto(p)),
      };
    }),
    getArbBook: h.unary(async (req) => {
      if (!req.strategyId) throw new ValidationError('strategy_id', 'is required');
      const r = runner(req.strategyId);
      // The arb book is funding-arb's own view; other kinds have none.
      if (r.spec.config.kind !== fundingArbStrategy.kind) {
        throw new ValidationError(
          'strategy_id',
          `${req.strategyId} is a ${r.spec.config.kind} strategy, not ${fundingArbStrategy.kind}`,
        );
      }
      const report = arbBookReport(r.strategyState as FundingArbState, r.world);
      return arbBookToProto(report, { strategyId: r.id, dryRun: r.dryRun, asOfMs: deps.nowMs() });
    }),
    closeAll: h.unary(async (req) => {
      if (!req.strategyId) throw new ValidationError('strategy_id', 'is required');
      const r = runner(req.strategyId);
      const result = await r.operator('close_all', req.reason || 'operator CloseAll');
      const ids = new Set(result.decisions.map((d) => d.decisionId));
      return {
        strategy: instanceView(r),
        decisions: r.recentDecisions().filter((d) => ids.has(d.decisionId)),
      };
    }),
    listDecisions: h.unary(async (req) => {
      if (req.limit < 0 || req.limit > 1000) {
        throw new ValidationError('limit', `must be 0 (default 100) to 1000, got ${req.limit}`);
      }
      const limit = req.limit || 100;
      const all = selected(req.strategyId)
        .flatMap((r) => r.recentDecisions())
        .sort((a, b) => a.decidedAtMs - b.decidedAtMs);
      return { decisions: all.slice(-limit) };
    }),
  };

  return {
    async start() {
      for (const r of runners.values()) r.launch();
    },
    async stop() {
      await Promise.allSettled([...runners.values()].map((r) => r.stop()));
      // Alarms raised just before the stop still get one delivery attempt's time.
      await webhook?.close(deps.alarmWebhook?.timeoutMs ?? 0);
      deps.orders.close();
      deps.account.close();
    },
    grpc: { definition: StrategyServiceService, implementation },
    runner,
    runners: () => [...runners.values()],
    recorder: (id) => recorders.get(id),
    alarmWebhookStats: () => webhook?.stats(),
    setTradingState,
  };
}

function instanceView(r: StrategyRunner): StrategyInstance {
  const status = r.status;
  return {
    strategyId: r.id,
    kind: r.spec.config.kind,
    mode: r.dryRun ? StrategyMode.STRATEGY_MODE_DRY_RUN : StrategyMode.STRATEGY_MODE_LIVE,
    state: status.state,
    tradingState: TRADING_STATE.toProto(NAME_OF[r.world.tradingState]),
    reason: r.dryRun ? `DRY-RUN${status.reason ? `; ${status.reason}` : ''}` : status.reason,
    decisions: r.world.decisionSeq,
    openOrders: r.openOrderCount(),
  };
}
