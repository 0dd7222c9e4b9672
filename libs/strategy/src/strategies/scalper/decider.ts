/**
 * Cross-venue momentum / latency scalper (the Binance/OKX one), as a pure decider.
 *
 * Signal: over the last `signalWindowMs` (on our clock: each mid is timed by when market
 * data observed it), the leader venue's mid moved by L bps and the follower's by F bps. When L - F >= `entryThresholdBps` the follower is expected to
 * catch up: buy it; when L - F <= -threshold: sell it. One position at a time.
 * Exit (reduce-only, sized to the actual position): take-profit, stop-loss (bps from
 * the entry fill), or `maxHoldMs`. After an exit, `cooldownMs` before the next entry.
 * Orders go through the same risk checks and commands as every strategy.
 */
import { type Decimal, dec, readingObservedAtMs, roundToStep, type Side } from '@perpmesh/core';
import { z } from 'zod';
import {
  accountIdSchema,
  configDecimal,
  configDuration,
  decimalCodec,
  instrumentIdSchema,
  msSchema,
  parseWith,
  positiveConfigDecimal,
  positiveConfigDuration,
  strategyIdSchema,
  venueIdSchema,
} from '../../codec.js';
import { buildDecider, type PlaceRequest, type Step, type StrategyState } from '../../engine.js';
import type { StrategyDecider, StrategyInput } from '../../model.js';
import { riskConfigSchema } from '../../risk.js';
import {
  type FactResult,
  isOpenOrder,
  marketKey,
  midOf,
  type OwnOrder,
  positionSize,
  walk,
} from '../../world.js';

export const scalperConfigSchema = z.object({
  kind: z.literal('scalper').optional(),
  strategyId: strategyIdSchema,
  leader: z.object({ venue: venueIdSchema, instrument: instrumentIdSchema }),
  follower: z.object({ venue: venueIdSchema, account: accountIdSchema, instrument: instrumentIdSchema }),
  signalWindowMs: positiveConfigDuration,
  /** Leader move minus follower move over the window, in bps, that triggers an entry. */
  entryThresholdBps: positiveConfigDecimal,
  /** Base size of an entry. */
  orderSize: positiveConfigDecimal,
  takeProfitBps: positiveConfigDecimal,
  stopLossBps: positiveConfigDecimal,
  maxHoldMs: positiveConfigDuration,
  cooldownMs: configDuration.default(5_000),
  orderType: z.enum(['market', 'limit_ioc']).default('limit_ioc'),
  maxSlippageBps: configDecimal.prefault('10'),
  orderTimeoutMs: positiveConfigDuration.default(5_000),
  retryIntervalMs: positiveConfigDuration.default(1_000),
  maxBookAgeMs: positiveConfigDuration.default(2_000),
  risk: riskConfigSchema,
});
export type ScalperConfig = z.output<typeof scalperConfigSchema>;

export function parseScalperConfig(raw: unknown, field = 'scalper'): ScalperConfig {
  return parseWith(scalperConfigSchema, raw, field);
}

const sampleCodec = z.object({ atMs: msSchema, mid: decimalCodec });

const scalperStateCodec = z.object({
  leaderMids: z.array(sampleCodec),
  followerMids: z.array(sampleCodec),
  phase: z.enum(['flat', 'entering', 'holding', 'exiting']),
  side: z.enum(['buy', 'sell']).optional(),
  entryPrice: decimalCodec.optional(),
  entryAtMs: msSchema.optional(),
  exitReason: z.string().optional(),
  lastActionAtMs: msSchema.optional(),
  lastExitAtMs: msSchema.optional(),
  trades: z.int().min(0),
});
export type ScalperState = z.output<typeof scalperStateCodec>;

type ScalperStep = Step<ScalperState, ScalperConfig>;
const BPS = dec(10_000);

export function scalperDecider(config: ScalperConfig): StrategyDecider<StrategyState<ScalperState>> {
  return buildDecider(config, {
    kind: 'scalper',
    strategyCodec: scalperStateCodec,
    initialStrategyState: () => ({ leaderMids: [], followerMids: [], phase: 'flat', trades: 0 }),
    react,
    closeAll: (step) => {
      if (
        !positionSize(
          step.world,
          config.follower.venue,
          config.follower.account,
          config.follower.instrument,
        ).isZero()
      ) {
        exit(step, 'operator_close_all', {});
      }
    },
  });
}

function ownOrders(step: ScalperStep): OwnOrder[] {
  return Object.values(step.world.orders).filter(isOpenOrder);
}

function react(step: ScalperStep, input: StrategyInput, _fact: FactResult): void {
  const cfg = step.config;
  const s = step.strategy;
  if (input.kind === 'book') {
    const mid = midOf(step.world.books[marketKey(input.venue, input.instrument)]);
    // The window runs on our clock (step.nowMs), so samples are timed on it too: when market
    // data observed the change (core `readingObservedAtMs`). The venue's asOfMs may lag ours (the
    // paper venue stamps a change with its last market step, up to a tick earlier; a venue
    // clock behind ours): a fresh move would look older than the window start and be its
    // own reference, i.e. no move.
    const atMs = readingObservedAtMs(input);
    if (mid && input.venue === cfg.leader.venue && input.instrument === cfg.leader.instrument) {
      recordMid(s.leaderMids, atMs, mid, step.nowMs - 2 * cfg.signalWindowMs);
    }
    if (mid && input.venue === cfg.follower.venue && input.instrument === cfg.follower.instrument) {
      recordMid(s.followerMids, atMs, mid, step.nowMs - 2 * cfg.signalWindowMs);
    }
  }
  if (input.kind === 'start') adopt(step);
  if (!step.world.started || step.world.tradingState === 'halted') return;

  const stuck = ownOrders(step).filter((o) => step.nowMs - o.createdAtMs >= cfg.orderTimeoutMs);
  if (stuck.length > 0) {
    step.cancel(stuck, {
      kind: 'cancel',
      reasonCode: 'order_timeout',
      message: `open longer than ${cfg.orderTimeoutMs} ms`,
      inputs: {},
    });
  }
  const position = positionSize(
    step.world,
    cfg.follower.venue,
    cfg.follower.account,
    cfg.follower.instrument,
  );
  const open = ownOrders(step);

  switch (s.phase) {
    case 'flat':
      if (step.world.tradingState === 'active') considerEntry(step);
      return;
    case 'entering':
      if (open.length > 0) return;
      if (position.isZero()) {
        s.phase = 'flat';
        s.lastExitAtMs = step.nowMs;
        step.decide({
          kind: 'signal',
          reasonCode: 'entry_not_filled',
          message: 'the entry order ended without a fill',
          inputs: {},
        });
        return;
      }
      s.phase = 'holding';
      s.entryAtMs = step.nowMs;
      s.entryPrice =
        lastFilledPrice(step) ??
        step.world.positions[`${cfg.follower.venue}|${cfg.follower.account}|${cfg.follower.instrument}`]
          ?.entryPrice;
      return;
    case 'holding':
      checkExit(step, position);
      return;
    case 'exiting':
      if (open.length > 0) return;
      if (position.isZero()) {
        s.phase = 'flat';
        s.lastExitAtMs = step.nowMs;
        s.trades += 1;
        step.decide({
          kind: 'closed',
          reasonCode: s.exitReason ?? 'exit',
          message: `scalp closed (${s.exitReason})`,
          inputs: { entry_price: s.entryPrice?.toFixed() ?? '', side: s.side ?? '' },
        });
        delete s.side;
        delete s.entryPrice;
        delete s.entryAtMs;
        return;
      }
      if (s.lastActionAtMs === undefined || step.nowMs - s.lastActionAtMs >= cfg.retryIntervalMs) {
        exit(step, s.exitReason ?? 'exit_retry', {});
      }
      return;
  }
}

/** Adds a mid sample (an older one than the last is ignored), keeping what the signal window needs. */
export function recordMid(
  samples: Array<{ atMs: number; mid: Decimal }>,
  atMs: number,
  mid: Decimal,
  keepAfterMs: number,
): void {
  const last = samples[samples.length - 1];
  if (last && atMs < last.atMs) return;
  samples.push({ atMs, mid });
  // Keep one sample older than the window start: it is the reference the move is measured from.
  while (samples.length > 2 && samples[1]!.atMs <= keepAfterMs) samples.shift();
}

/** Move in bps from the latest sample at or before `nowMs - window` to the latest sample. */
export function midMoveBps(
  samples: ReadonlyArray<{ atMs: number; mid: Decimal }>,
  nowMs: number,
  windowMs: number,
) {
  const latest = samples[samples.length - 1];
  let reference: { atMs: number; mid: Decimal } | undefined;
  for (const sample of samples) if (sample.atMs <= nowMs - windowMs) reference = sample;
  if (!latest || !reference) return undefined;
  return { bps: latest.mid.div(reference.mid).minus(1).mul(BPS), latest, reference };
}

function considerEntry(step: ScalperStep): void {
  const cfg = step.config;
  const s = step.strategy;
  if (s.lastExitAtMs !== undefined && step.nowMs - s.lastExitAtMs < cfg.cooldownMs) return;
  const leaderBook = step.world.books[marketKey(cfg.leader.venue, cfg.leader.instrument)];
  const followerBook = step.world.books[marketKey(cfg.follower.venue, cfg.follower.instrument)];
  if (!leaderBook || !followerBook) return;
  if (
    step.nowMs - leaderBook.receivedAtMs > cfg.maxBookAgeMs ||
    step.nowMs - followerBook.receivedAtMs > cfg.maxBookAgeMs
  )
    return;
  const leader = midMoveBps(s.leaderMids, step.nowMs, cfg.signalWindowMs);
  const follower = midMoveBps(s.followerMids, step.nowMs, cfg.signalWindowMs);
  if (!leader || !follower) return;
  const lag = leader.bps.minus(follower.bps);
  if (lag.abs().lt(cfg.entryThresholdBps)) return;
  const side: Side = lag.gt(0) ? 'buy' : 'sell';
  const request = orderRequest(step, side, cfg.orderSize, false, 'entry');
  if (!request) return;
  s.lastActionAtMs = step.nowMs;
  const result = step.place([request], {
    kind: 'enter',
    reasonCode: side === 'buy' ? 'leader_moved_up' : 'leader_moved_down',
    message: `leader ${leader.bps.toFixed(2)} bps vs follower ${follower.bps.toFixed(2)} bps over ${cfg.signalWindowMs} ms: ${side}`,
    inputs: {
      leader_move_bps: leader.bps.toFixed(4),
      follower_move_bps: follower.bps.toFixed(4),
      lag_bps: lag.toFixed(4),
      entry_threshold_bps: cfg.entryThresholdBps.toFixed(),
      leader_mid: leader.latest.mid.toFixed(),
      leader_reference_mid: leader.reference.mid.toFixed(),
      follower_mid: follower.latest.mid.toFixed(),
      follower_reference_mid: follower.reference.mid.toFixed(),
      signal_window_ms: String(cfg.signalWindowMs),
    },
  });
  if (result.ok) {
    s.phase = 'entering';
    s.side = side;
  } else {
    // A denied entry waits the cooldown like an exit, so risk denials do not repeat on every book.
    s.lastExitAtMs = step.nowMs;
  }
}

function orderRequest(
  step: ScalperStep,
  side: Side,
  size: Decimal,
  reduceOnly: boolean,
  role: string,
): PlaceRequest | undefined {
  const cfg = step.config;
  const key = marketKey(cfg.follower.venue, cfg.follower.instrument);
  const market = step.world.markets[key];
  const book = step.world.books[key];
  if (!market) return undefined;
  const base = {
    venue: cfg.follower.venue,
    account: cfg.follower.account,
    instrument: cfg.follower.instrument,
    side,
    size,
    reduceOnly,
    role,
  };
  const worst = book ? walk(book, side, size).worstPrice : undefined;
  if (cfg.orderType === 'market' || !worst)
    return { ...base, type: 'market', timeInForce: 'ioc', price: undefined };
  const slip = cfg.maxSlippageBps.div(BPS);
  const price =
    side === 'buy'
      ? roundToStep(worst.mul(dec(1).plus(slip)), market.tickSize, 'up')
      : roundToStep(worst.mul(dec(1).minus(slip)), market.tickSize, 'down');
  return { ...base, type: 'limit', timeInForce: 'ioc', price };
}

function lastFilledPrice(step: ScalperStep): Decimal | undefined {
  const entries = Object.values(step.world.orders)
    .filter((o) => o.role === 'entry' && o.filled.gt(0))
    .sort((a, b) => b.createdAtMs - a.createdAtMs);
  const o = entries[0];
  if (o === undefined) return undefined;
  return o.avgFillPrice ?? (o.fillSize.gt(0) ? o.fillNotional.div(o.fillSize) : undefined);
}

function checkExit(step: ScalperStep, position: Decimal): void {
  const cfg = step.config;
  const s = step.strategy;
  if (position.isZero()) {
    s.phase = 'flat';
    s.lastExitAtMs = step.nowMs;
    step.decide({
      kind: 'signal',
      reasonCode: 'position_gone',
      message: 'the follower position is flat without our exit',
      inputs: {},
    });
    return;
  }
  const mid = midOf(step.world.books[marketKey(cfg.follower.venue, cfg.follower.instrument)]);
  const heldMs = step.nowMs - (s.entryAtMs ?? step.nowMs);
  const inputs: Record<string, string> = {
    position_size: position.toFixed(),
    entry_price: s.entryPrice?.toFixed() ?? '',
    held_ms: String(heldMs),
  };
  let reason: string | undefined;
  if (mid && s.entryPrice) {
    const move = mid.div(s.entryPrice).minus(1).mul(BPS);
    const pnlBps = position.gt(0) ? move : move.neg();
    inputs.mid = mid.toFixed();
    inputs.pnl_bps = pnlBps.toFixed(4);
    if (pnlBps.gte(cfg.takeProfitBps)) reason = 'take_profit';
    else if (pnlBps.lte(cfg.stopLossBps.neg())) reason = 'stop_loss';
  }
  if (!reason && heldMs >= cfg.maxHoldMs) reason = 'max_hold_time';
  if (reason) exit(step, reason, inputs);
}

/** Reduce-only, sized to the actual position (risk caps it again). */
function exit(step: ScalperStep, reason: string, inputs: Record<string, string>): void {
  const cfg = step.config;
  const s = step.strategy;
  const position = positionSize(
    step.world,
    cfg.follower.venue,
    cfg.follower.account,
    cfg.follower.instrument,
  );
  s.phase = 'exiting';
  s.exitReason = reason;
  s.lastActionAtMs = step.nowMs;
  if (position.isZero()) return;
  const request = orderRequest(step, position.gt(0) ? 'sell' : 'buy', position.abs(), true, 'exit');
  if (!request) return;
  step.place([request], {
    kind: 'exit',
    reasonCode: reason,
    message: `close ${position.toFixed()} (${reason}), reduce-only`,
    inputs: { ...inputs, position_size: position.toFixed() },
  });
}

/** At start an existing follower position is held as an open scalp (its exit rules apply from now). */
function adopt(step: ScalperStep): void {
  const cfg = step.config;
  const s = step.strategy;
  const unknown = ownOrders(step).filter((o) => o.role === 'adopted');
  step.cancel(unknown, {
    kind: 'cancel',
    reasonCode: 'stray_order_at_start',
    message: 'own open orders the saved state does not account for',
    inputs: {},
  });
  const key = `${cfg.follower.venue}|${cfg.follower.account}|${cfg.follower.instrument}`;
  const p = step.world.positions[key];
  if (!p || p.size.isZero() || s.phase !== 'flat') return;
  s.phase = 'holding';
  s.side = p.size.gt(0) ? 'buy' : 'sell';
  s.entryAtMs = step.nowMs;
  if (p.entryPrice) s.entryPrice = p.entryPrice;
  step.decide({
    kind: 'adopt',
    reasonCode: 'position_adopted',
    message: `holding the existing position ${p.size.toFixed()} under the exit rules`,
    inputs: { position_size: p.size.toFixed(), entry_price: p.entryPrice?.toFixed() ?? '' },
  });
}
