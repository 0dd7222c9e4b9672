/**
 * The decider machinery every strategy shares.
 *
 * `buildDecider(config, definition)` gives the runtime a `StrategyDecider`:
 * `step(state, input)` copies the state (the caller's stays untouched), folds the
 * input's facts into the world (`applyFact`, the evolve half), applies operator
 * commands, then lets the strategy react (the decide half) through a `Step`, which is
 * the only way to emit decisions and commands: placing goes through pre-trade risk, so
 * no strategy can emit an order that risk did not allow.
 */
import { ValidationError, ZERO } from '@perpmesh/core';
import { z } from 'zod';
import { zodToValidationError } from './codec.js';
import type {
  Decision,
  DecisionKind,
  OrderIntent,
  SerializedStrategyState,
  StepResult,
  StrategyCommand,
  StrategyDecider,
  StrategyInput,
} from './model.js';
import {
  checkOrder,
  consumeToken,
  type OrderRequest,
  type RiskConfig,
  type RiskVerdict,
  refillTokens,
} from './risk.js';
import {
  applyFact,
  cloneDraft,
  type FactResult,
  initialWorld,
  isOpenOrder,
  nextClientOrderId,
  type OwnOrder,
  openOrders,
  type WorldState,
  worldStateCodec,
} from './world.js';

export type StrategyKind = StrategyDecider<unknown>['strategyKind'];

/** Every strategy config has these. */
export interface BaseStrategyConfig {
  readonly strategyId: string;
  readonly risk: RiskConfig;
}

/** A strategy's whole state: the shared world plus its own part. */
export interface StrategyState<S> {
  readonly world: WorldState;
  readonly strategy: S;
}

/**
 * The decide half of a strategy, turned into a `StrategyDecider` by `buildDecider`. (The
 * whole strategy, config and needs included, is a `StrategyDefinition` in registry.ts.)
 */
export interface DeciderDefinition<S, C extends BaseStrategyConfig> {
  readonly kind: StrategyKind;
  // biome-ignore lint/suspicious/noExplicitAny: the JSON side of a codec is any JSON shape
  readonly strategyCodec: z.ZodType<S, any>;
  initialStrategyState(config: C): S;
  /** Decide on one input; the world already holds its facts. */
  react(step: Step<S, C>, input: StrategyInput, fact: FactResult): void;
  /** Operator `close_all`: close every position the strategy holds with reduce-only orders. */
  closeAll(step: Step<S, C>): void;
}

/** What a strategy asks to place; risk may deny or cap it. */
export interface PlaceRequest extends OrderRequest {
  /** Why the strategy places it (`entry`, `hedge`, `unwind`, `exit`, `grid`...). */
  readonly role: string;
  readonly group?: string | undefined;
}

export interface DecisionDraft {
  readonly kind: DecisionKind;
  readonly reasonCode: string;
  readonly message: string;
  readonly inputs: Record<string, string>;
}

export type PlaceResult =
  | { readonly ok: true; readonly decisionId: string; readonly orders: OwnOrder[] }
  | {
      readonly ok: false;
      readonly decisionId: string;
      readonly verdict: Extract<RiskVerdict, { allowed: false }>;
    };

/** Cancels are re-sent only after this long without an answer. */
export const CANCEL_RETRY_MS = 5_000;

export class Step<S, C extends BaseStrategyConfig> {
  readonly decisions: Decision[] = [];
  readonly commands: StrategyCommand[] = [];

  constructor(
    readonly world: WorldState,
    readonly strategy: S,
    readonly config: C,
  ) {}

  get nowMs(): number {
    return this.world.nowMs;
  }

  /** Records a decision; returns its id. */
  decide(draft: DecisionDraft, orders: ReadonlyArray<OrderIntent> = []): string {
    this.world.decisionSeq += 1;
    const decisionId = `${this.world.strategyId}:${this.world.decisionSeq}`;
    this.decisions.push({
      decisionId,
      strategyId: this.world.strategyId,
      kind: draft.kind,
      reasonCode: draft.reasonCode,
      message: draft.message,
      inputs: draft.inputs,
      orders,
      nowMs: this.world.nowMs,
    });
    return decisionId;
  }

  /**
   * Places a batch all-or-nothing: every order passes risk (counted together), or none is
   * placed and one `deny` decision says which order failed and why. On success one
   * decision (`draft`) carries every order and each gets a `place` command.
   */
  place(requests: ReadonlyArray<PlaceRequest>, draft: DecisionDraft): PlaceResult {
    refillTokens(this.world, this.config.risk, this.nowMs);
    const allowed: OrderRequest[] = [];
    const notes: Record<string, string> = {};
    for (const [index, request] of requests.entries()) {
      const { role: _role, group: _group, ...order } = request;
      const verdict = checkOrder(this.world, order, this.config.risk, allowed);
      if (!verdict.allowed) {
        const decisionId = this.decide({
          kind: 'deny',
          reasonCode: verdict.reasonCode,
          message: `${draft.kind} denied by risk (order ${index + 1} of ${requests.length}, ${request.role} ${order.side} ${order.size.toFixed()} ${order.instrument} on ${order.venue}): ${verdict.message}`,
          inputs: { ...draft.inputs, ...prefixed('risk', verdict.inputs), denied_decision: draft.kind },
        });
        return { ok: false, decisionId, verdict };
      }
      if (verdict.capped) notes[`order${index + 1}.capped_from`] = order.size.toFixed();
      allowed.push(verdict.order);
    }
    const intents: OrderIntent[] = allowed.map((order) => ({
      clientOrderId: nextClientOrderId(this.world),
      ...order,
    }));
    const decisionId = this.decide({ ...draft, inputs: { ...draft.inputs, ...notes } }, intents);
    const placed: OwnOrder[] = [];
    for (const [index, intent] of intents.entries()) {
      consumeToken(this.world);
      const request = requests[index]!;
      const order: OwnOrder = {
        clientOrderId: intent.clientOrderId,
        venue: intent.venue,
        account: intent.account,
        instrument: intent.instrument,
        side: intent.side,
        type: intent.type,
        timeInForce: intent.timeInForce,
        ...(intent.price ? { price: intent.price } : {}),
        size: intent.size,
        reduceOnly: intent.reduceOnly,
        status: 'submitted',
        filled: ZERO,
        fillSize: ZERO,
        fillNotional: ZERO,
        fees: ZERO,
        tradeIds: [],
        role: request.role,
        ...(request.group !== undefined ? { group: request.group } : {}),
        createdAtMs: this.nowMs,
        updatedAtMs: this.nowMs,
      };
      this.world.orders[order.clientOrderId] = order;
      placed.push(order);
      this.commands.push({ kind: 'place', decisionId, order: intent });
    }
    return { ok: true, decisionId, orders: placed };
  }

  /**
   * Cancels the given orders that are still open and not already asked (or asked more than
   * CANCEL_RETRY_MS ago). Emits the decision only when there is something to cancel.
   */
  cancel(orders: ReadonlyArray<OwnOrder>, draft: DecisionDraft): string | undefined {
    const due = orders.filter(
      (o) =>
        isOpenOrder(o) &&
        (o.cancelRequestedAtMs === undefined || this.nowMs - o.cancelRequestedAtMs >= CANCEL_RETRY_MS),
    );
    if (due.length === 0) return undefined;
    const decisionId = this.decide({
      ...draft,
      inputs: { ...draft.inputs, client_order_ids: due.map((o) => o.clientOrderId).join(',') },
    });
    for (const o of due) {
      o.cancelRequestedAtMs = this.nowMs;
      this.commands.push({
        kind: 'cancel',
        decisionId,
        clientOrderId: o.clientOrderId,
        venue: o.venue,
        account: o.account,
        instrument: o.instrument,
      });
    }
    return decisionId;
  }

  /** One `cancel_all_own` command for every own open order (operator halt / SIGTERM). */
  cancelAllOwn(draft: DecisionDraft, filter: (o: OwnOrder) => boolean = () => true): string {
    const orders = openOrders(this.world).filter(filter);
    const decisionId = this.decide({
      ...draft,
      inputs: { ...draft.inputs, client_order_ids: orders.map((o) => o.clientOrderId).join(',') },
    });
    for (const o of orders) o.cancelRequestedAtMs = this.nowMs;
    if (orders.length > 0) {
      this.commands.push({
        kind: 'cancel_all_own',
        decisionId,
        orders: orders.map((o) => ({
          clientOrderId: o.clientOrderId,
          venue: o.venue,
          account: o.account,
          instrument: o.instrument,
        })),
      });
    }
    return decisionId;
  }
}

export function prefixed(prefix: string, inputs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs)) out[`${prefix}.${k}`] = v;
  return out;
}

function applyOperator<S, C extends BaseStrategyConfig>(
  step: Step<S, C>,
  input: Extract<StrategyInput, { kind: 'operator' }>,
  definition: DeciderDefinition<S, C>,
): void {
  const previous = step.world.tradingState;
  const inputs = { action: input.action, previous_state: previous, note: input.note ?? '' };
  switch (input.action) {
    case 'halt':
      step.world.tradingState = 'halted';
      step.cancelAllOwn({
        kind: 'trading_state',
        reasonCode: 'operator_halt',
        message: 'HALTED: open orders canceled, nothing new',
        inputs: { ...inputs, trading_state: 'halted' },
      });
      return;
    case 'reduce':
      step.world.tradingState = 'reducing';
      step.cancelAllOwn(
        {
          kind: 'trading_state',
          reasonCode: 'operator_reduce',
          message: 'REDUCING: opening orders canceled, only reduce-only orders',
          inputs: { ...inputs, trading_state: 'reducing' },
        },
        (o) => !o.reduceOnly,
      );
      return;
    case 'resume':
      step.world.tradingState = 'active';
      step.decide({
        kind: 'trading_state',
        reasonCode: 'operator_resume',
        message: 'ACTIVE',
        inputs: { ...inputs, trading_state: 'active' },
      });
      return;
    case 'cancel_all':
      step.cancelAllOwn({
        kind: 'cancel',
        reasonCode: 'operator_cancel_all',
        message: 'cancel every own open order; positions kept',
        inputs,
      });
      return;
    case 'close_all': {
      // HALTED is the kill switch: a CloseAll does not lift it. The closes are decided now and
      // go out once an operator sets REDUCING or ACTIVE; the answer says so instead of
      // claiming to close.
      const halted = step.world.tradingState === 'halted';
      if (step.world.tradingState === 'active') step.world.tradingState = 'reducing';
      step.cancelAllOwn(
        {
          kind: 'trading_state',
          reasonCode: 'operator_close_all',
          message: halted
            ? 'HALTED: nothing is sent while halted; open orders canceled, positions stay open and are closed with reduce-only orders once trading is set to REDUCING or ACTIVE'
            : `${step.world.tradingState.toUpperCase()}: closing every position with reduce-only orders`,
          inputs: {
            ...inputs,
            trading_state: step.world.tradingState,
            ...(halted ? { closes_sent_when: 'REDUCING or ACTIVE' } : {}),
          },
        },
        (o) => !o.reduceOnly,
      );
      definition.closeAll(step);
      return;
    }
  }
}

export const STATE_FORMAT = 'perpmesh.strategy.state';

export function buildDecider<S, C extends BaseStrategyConfig>(
  config: C,
  definition: DeciderDefinition<S, C>,
): StrategyDecider<StrategyState<S>> {
  const stateCodec = z.object({ world: worldStateCodec, strategy: definition.strategyCodec });
  return {
    strategyId: config.strategyId,
    strategyKind: definition.kind,
    initialState: () => ({
      world: initialWorld(config.strategyId, config.risk.orderRateCapacity),
      strategy: definition.initialStrategyState(config),
    }),
    step(state: StrategyState<S>, input: StrategyInput): StepResult<StrategyState<S>> {
      if (!Number.isSafeInteger(input.nowMs) || input.nowMs < 0) {
        throw new ValidationError(
          'input.nowMs',
          `must be a non-negative integer of ms, got ${String(input.nowMs)}`,
        );
      }
      const draft = cloneDraft(state) as { world: WorldState; strategy: S };
      const fact = applyFact(draft.world, input);
      const step = new Step<S, C>(draft.world, draft.strategy, config);
      if (input.kind === 'operator') applyOperator(step, input, definition);
      if (input.kind === 'start') draft.world.started = true;
      definition.react(step, input, fact);
      return { state: draft, commands: step.commands, decisions: step.decisions };
    },
    serialize(state: StrategyState<S>): SerializedStrategyState {
      return {
        format: STATE_FORMAT,
        version: 1,
        strategyKind: definition.kind,
        strategyId: config.strategyId,
        state: z.encode(stateCodec, state as z.output<typeof stateCodec>),
      };
    },
    deserialize(json: unknown): StrategyState<S> {
      const envelope = z
        .object({
          format: z.literal(STATE_FORMAT),
          version: z.literal(1),
          strategyKind: z.literal(definition.kind),
          strategyId: z.literal(config.strategyId),
          state: z.unknown(),
        })
        .safeParse(json);
      if (!envelope.success) throw zodToValidationError(envelope.error, 'strategyState');
      const decoded = z.safeDecode(stateCodec, envelope.data.state as z.input<typeof stateCodec>);
      if (!decoded.success) throw zodToValidationError(decoded.error, 'strategyState.state');
      return decoded.data as StrategyState<S>;
    },
  };
}

/** Feeds inputs one by one (a replay); returns the final state and everything decided. */
export function runInputs<S>(
  decider: StrategyDecider<S>,
  state: S,
  inputs: Iterable<StrategyInput>,
): { state: S; decisions: Decision[]; commands: StrategyCommand[] } {
  const decisions: Decision[] = [];
  const commands: StrategyCommand[] = [];
  let current = state;
  for (const input of inputs) {
    const result = decider.step(current, input);
    current = result.state;
    decisions.push(...result.decisions);
    commands.push(...result.commands);
  }
  return { state: current, decisions, commands };
}
