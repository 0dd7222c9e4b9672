/**
 * Grid bot (the one Lighter users run), as a pure decider.
 *
 * Lines at `center + i x spacing` for i in [-levelsBelow, levelsAbove]. One line is
 * empty: the one of the last fill (the center at start). Lines below it hold buys, lines
 * above it hold sells, so a buy filled at line k puts a sell at k+1 and a sell filled at
 * line k puts a buy at k-1: each round trip earns one spacing.
 *
 * - Orders are limits (post-only by default) of `sizePerLevel`, placed nearest-first,
 *   at most `maxActiveOrders` open, and at most one placement per `placementCooldownMs`
 *   (a denied placement also waits the cooldown, so risk denials cannot spin).
 * - Every `cleanupIntervalMs` own open orders that are not on a wanted line (stray,
 *   duplicate, beyond the active limit, left from another center) are canceled.
 * - Re-center: when the mid leaves the grid by more than `recenterThresholdLevels`
 *   spacings, the grid's orders are canceled and the center moves to the mid.
 * - Start: own open orders on a grid line are adopted, others canceled by the cleanup;
 *   an existing position sets the empty line (long n levels = filled n buys below).
 * - REDUCING: only lines that reduce the position, as reduce-only orders.
 */
import { type Decimal, dec, roundToStep, type Side } from '@perpmesh/core';
import { z } from 'zod';
import {
  accountIdSchema,
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
import { buildDecider, type Step, type StrategyState } from '../../engine.js';
import type { StrategyDecider, StrategyInput } from '../../model.js';
import { riskConfigSchema } from '../../risk.js';
import {
  bestAsk,
  bestBid,
  type FactResult,
  isOpenOrder,
  marketKey,
  midOf,
  type OwnOrder,
  positionSize,
} from '../../world.js';

export const gridConfigSchema = z
  .object({
    kind: z.literal('grid').optional(),
    strategyId: strategyIdSchema,
    venue: venueIdSchema,
    account: accountIdSchema,
    instrument: instrumentIdSchema,
    /** Line spacing in price units; or use spacingBps. */
    spacingAbsolute: positiveConfigDecimal.optional(),
    /** Line spacing as bps of the center price. */
    spacingBps: positiveConfigDecimal.optional(),
    levelsAbove: z.int().min(1).max(200),
    levelsBelow: z.int().min(1).max(200),
    /** Base size of each line's order. */
    sizePerLevel: positiveConfigDecimal,
    /** Fixed center; the mid at start when absent. */
    centerPrice: positiveConfigDecimal.optional(),
    maxActiveOrders: z.int().min(1),
    placementCooldownMs: configDuration.default(1_000),
    cleanupIntervalMs: positiveConfigDuration.default(30_000),
    recenterThresholdLevels: z.int().min(0).default(2),
    postOnly: z.boolean().default(true),
    maxBookAgeMs: positiveConfigDuration.default(10_000),
    risk: riskConfigSchema,
  })
  .superRefine((c, ctx) => {
    if ((c.spacingAbsolute === undefined) === (c.spacingBps === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['spacingAbsolute'],
        message: 'set exactly one of spacingAbsolute and spacingBps',
      });
    }
  });
export type GridConfig = z.output<typeof gridConfigSchema>;

export function parseGridConfig(raw: unknown, field = 'grid'): GridConfig {
  return parseWith(gridConfigSchema, raw, field);
}

const gridStateCodec = z.object({
  center: decimalCodec.optional(),
  spacing: decimalCodec.optional(),
  /** The line of the last fill: no order there. */
  emptyLevel: z.int(),
  lastPlacementAtMs: msSchema.optional(),
  lastCleanupAtMs: msSchema.optional(),
  centerSeq: z.int().min(0),
});
export type GridState = z.output<typeof gridStateCodec>;

type GridStep = Step<GridState, GridConfig>;

export function gridDecider(config: GridConfig): StrategyDecider<StrategyState<GridState>> {
  return buildDecider(config, {
    kind: 'grid',
    strategyCodec: gridStateCodec,
    initialStrategyState: () => ({ emptyLevel: 0, centerSeq: 0 }),
    react,
    closeAll: (step) => {
      const position = positionSize(step.world, config.venue, config.account, config.instrument);
      if (position.isZero()) return;
      step.place(
        [
          {
            venue: config.venue,
            account: config.account,
            instrument: config.instrument,
            side: position.gt(0) ? 'sell' : 'buy',
            type: 'market',
            timeInForce: 'ioc',
            price: undefined,
            size: position.abs(),
            reduceOnly: true,
            role: 'exit',
          },
        ],
        {
          kind: 'exit',
          reasonCode: 'operator_close_all',
          message: `close the grid position ${position.toFixed()} (reduce-only)`,
          inputs: { position_size: position.toFixed() },
        },
      );
    },
  });
}

interface Line {
  readonly level: number;
  readonly side: Side;
  readonly price: Decimal;
}

function levelOf(order: OwnOrder): number | undefined {
  if (order.role !== 'grid' || !order.group?.startsWith('L')) return undefined;
  const level = Number(order.group.slice(1).split('@')[0]);
  return Number.isSafeInteger(level) ? level : undefined;
}

function lineGroup(step: GridStep, level: number): string {
  return `L${level}@${step.strategy.centerSeq}`;
}

function react(step: GridStep, input: StrategyInput, fact: FactResult): void {
  const cfg = step.config;
  const g = step.strategy;
  const key = marketKey(cfg.venue, cfg.instrument);
  const market = step.world.markets[key];
  const book = step.world.books[key];

  // A line's order filled completely: that line is now the empty one.
  if (fact.order?.status === 'filled' && fact.previousStatus !== 'filled' && fact.order.group !== undefined) {
    const level = levelOf(fact.order);
    if (level !== undefined && fact.order.group === lineGroup(step, level)) {
      g.emptyLevel = level;
      step.decide({
        kind: 'signal',
        reasonCode: `line_${fact.order.side}_filled`,
        message: `${fact.order.side} at line ${level} filled; line ${level} is now empty`,
        inputs: {
          level: String(level),
          price: fact.order.price?.toFixed() ?? '',
          size: fact.order.size.toFixed(),
        },
      });
    }
  }

  if (!step.world.started || step.world.tradingState === 'halted' || !market || !book) return;
  if (step.nowMs - book.receivedAtMs > cfg.maxBookAgeMs) return;
  const mid = midOf(book);
  if (!mid) return;
  const position = positionSize(step.world, cfg.venue, cfg.account, cfg.instrument);

  if (g.center === undefined || g.spacing === undefined) {
    setCenter(step, cfg.centerPrice ?? mid, market.tickSize, position, 'initial_center', mid);
    if (input.kind === 'start' || g.lastCleanupAtMs === undefined) adoptOrders(step);
  } else {
    const upper = g.center.plus(g.spacing.mul(cfg.levelsAbove + cfg.recenterThresholdLevels));
    const lower = g.center.minus(g.spacing.mul(cfg.levelsBelow + cfg.recenterThresholdLevels));
    if (mid.gt(upper) || mid.lt(lower)) {
      const own = Object.values(step.world.orders).filter((o) => isOpenOrder(o) && o.role === 'grid');
      step.cancel(own, {
        kind: 'cancel',
        reasonCode: 'recenter',
        message: 'the price left the grid: canceling its orders',
        inputs: { mid: mid.toFixed(), upper: upper.toFixed(), lower: lower.toFixed() },
      });
      setCenter(step, mid, market.tickSize, position, 'price_left_grid', mid);
    }
    if (input.kind === 'start') adoptOrders(step);
  }

  const wanted = wantedLines(step, market.tickSize);
  if (g.lastCleanupAtMs === undefined || step.nowMs - g.lastCleanupAtMs >= cfg.cleanupIntervalMs) {
    cleanup(step, wanted);
  }
  place(step, wanted, position, bestBid(book), bestAsk(book));
}

function setCenter(
  step: GridStep,
  price: Decimal,
  tick: Decimal,
  position: Decimal,
  reasonCode: string,
  mid: Decimal,
) {
  const cfg = step.config;
  const g = step.strategy;
  const center = roundToStep(price, tick, 'nearest');
  const rawSpacing = cfg.spacingAbsolute ?? center.mul(cfg.spacingBps!).div(10_000);
  const spacing = roundToStep(rawSpacing, tick, 'nearest');
  g.center = center;
  g.spacing = spacing.gt(0) ? spacing : tick;
  g.centerSeq += 1;
  // Holding a position means lines on the other side of the center have filled.
  const filledLines = roundToStep(position.div(cfg.sizePerLevel), dec(1), 'nearest').toNumber();
  g.emptyLevel = Math.max(-cfg.levelsBelow, Math.min(cfg.levelsAbove, -filledLines));
  g.lastCleanupAtMs = undefined;
  step.decide({
    kind: 'recenter',
    reasonCode,
    message: `grid centered at ${center.toFixed()}, spacing ${g.spacing.toFixed()}, empty line ${g.emptyLevel}`,
    inputs: {
      center: center.toFixed(),
      spacing: g.spacing.toFixed(),
      mid: mid.toFixed(),
      position_size: position.toFixed(),
      empty_level: String(g.emptyLevel),
    },
  });
}

function wantedLines(step: GridStep, tick: Decimal): Line[] {
  const cfg = step.config;
  const g = step.strategy;
  const lines: Line[] = [];
  for (let level = -cfg.levelsBelow; level <= cfg.levelsAbove; level++) {
    if (level === g.emptyLevel) continue;
    const side: Side = level < g.emptyLevel ? 'buy' : 'sell';
    const raw = g.center!.plus(g.spacing!.mul(level));
    if (!raw.gt(0)) continue;
    lines.push({ level, side, price: roundToStep(raw, tick, side === 'buy' ? 'down' : 'up') });
  }
  lines.sort(
    (a, b) => Math.abs(a.level - g.emptyLevel) - Math.abs(b.level - g.emptyLevel) || a.level - b.level,
  );
  return lines.slice(0, cfg.maxActiveOrders);
}

function matchesLine(step: GridStep, order: OwnOrder, line: Line): boolean {
  return (
    order.side === line.side &&
    order.price !== undefined &&
    order.price.eq(line.price) &&
    order.group === lineGroup(step, line.level)
  );
}

/** Own open orders found at start: those on a wanted line (by side and price) become that line's order. */
function adoptOrders(step: GridStep): void {
  const market = step.world.markets[marketKey(step.config.venue, step.config.instrument)];
  if (!market || step.strategy.center === undefined) return;
  const wanted = wantedLines(step, market.tickSize);
  const adopted: string[] = [];
  for (const order of Object.values(step.world.orders)) {
    if (!isOpenOrder(order) || order.role !== 'adopted') continue;
    const line = wanted.find((l) => l.side === order.side && order.price?.eq(l.price));
    if (!line) continue;
    order.role = 'grid';
    order.group = lineGroup(step, line.level);
    adopted.push(`${order.clientOrderId}@${line.level}`);
  }
  if (adopted.length > 0) {
    step.decide({
      kind: 'adopt',
      reasonCode: 'orders_on_grid_lines',
      message: `${adopted.length} open order(s) found at start sit on grid lines`,
      inputs: { orders: adopted.join(',') },
    });
  }
}

function cleanup(step: GridStep, wanted: ReadonlyArray<Line>): void {
  step.strategy.lastCleanupAtMs = step.nowMs;
  const keep = new Set<string>();
  for (const line of wanted) {
    const order = Object.values(step.world.orders)
      .filter((o) => isOpenOrder(o) && matchesLine(step, o, line))
      .sort((a, b) => a.createdAtMs - b.createdAtMs)[0];
    if (order) keep.add(order.clientOrderId);
  }
  const stray = Object.values(step.world.orders).filter(
    (o) =>
      isOpenOrder(o) &&
      o.role !== 'exit' &&
      !keep.has(o.clientOrderId) &&
      o.cancelRequestedAtMs === undefined,
  );
  step.cancel(stray, {
    kind: 'cancel',
    reasonCode: 'stray_order',
    message: `${stray.length} own order(s) not on a wanted grid line`,
    inputs: { wanted_lines: wanted.map((l) => `${l.side}@${l.price.toFixed()}`).join(',') },
  });
}

function place(
  step: GridStep,
  wanted: ReadonlyArray<Line>,
  position: Decimal,
  bid: Decimal | undefined,
  ask: Decimal | undefined,
): void {
  const cfg = step.config;
  const g = step.strategy;
  if (g.lastPlacementAtMs !== undefined && step.nowMs - g.lastPlacementAtMs < cfg.placementCooldownMs) return;
  const open = Object.values(step.world.orders).filter(isOpenOrder);
  if (open.length >= cfg.maxActiveOrders) return;
  const reducing = step.world.tradingState === 'reducing';
  for (const line of wanted) {
    if (open.some((o) => matchesLine(step, o, line))) continue;
    // A post-only order that would cross is rejected by the venue: wait for the price to move.
    if (
      cfg.postOnly &&
      ((line.side === 'buy' && ask && line.price.gte(ask)) ||
        (line.side === 'sell' && bid && line.price.lte(bid)))
    ) {
      continue;
    }
    const reduces = (line.side === 'sell' && position.gt(0)) || (line.side === 'buy' && position.lt(0));
    if (reducing && !reduces) continue;
    g.lastPlacementAtMs = step.nowMs;
    step.place(
      [
        {
          venue: cfg.venue,
          account: cfg.account,
          instrument: cfg.instrument,
          side: line.side,
          type: 'limit',
          timeInForce: cfg.postOnly ? 'post_only' : 'gtc',
          price: line.price,
          size: cfg.sizePerLevel,
          reduceOnly: reducing,
          role: 'grid',
          group: lineGroup(step, line.level),
        },
      ],
      {
        kind: 'place',
        reasonCode: 'grid_line_empty',
        message: `${line.side} ${cfg.sizePerLevel.toFixed()} at line ${line.level} (${line.price.toFixed()})`,
        inputs: {
          level: String(line.level),
          price: line.price.toFixed(),
          center: g.center!.toFixed(),
          spacing: g.spacing!.toFixed(),
          empty_level: String(g.emptyLevel),
          position_size: position.toFixed(),
          open_orders: String(open.length),
        },
      },
    );
    return;
  }
}
