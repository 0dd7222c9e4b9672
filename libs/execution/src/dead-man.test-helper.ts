/**
 * The dead-man-switch scenario every venue's test runs, the honest way: an execution process
 * (dead-man-child.test-helper.ts) opens the venue from its config, arms the venue's switch
 * and keeps refreshing it; while it runs its order stays open past the first deadline; once
 * it is killed with SIGKILL (nothing runs after that: no cleanup, no cancel), the venue (the
 * emulator) cancels the account's open orders when the deadline passes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newEnvelope, publishEnvelope, StrategyDecision } from '@perpmesh/contracts';
import type { SimExchange } from '@perpmesh/sim';
import { eventually, type TestBackend } from '@perpmesh/testing';
import { clientOrderIdCodec } from '@perpmesh/venues';
import type { DeadManChildInput } from './dead-man-child.test-helper.js';

const CHILD = fileURLToPath(new URL('./dead-man-child.test-helper.ts', import.meta.url));

export async function assertKilledExecutionIsCanceledByVenue(options: {
  readonly input: DeadManChildInput;
  /** The credentials the child's `{ env }` references name. */
  readonly env: Record<string, string>;
  /** The emulator's exchange and our account on it. */
  readonly exchange: SimExchange;
  readonly accountId: string;
}): Promise<void> {
  const { input, exchange, accountId } = options;
  // The venue knows our id as its kind encodes it (Lighter: a numeric client order index).
  const kind = (input.venues[input.venue] as { kind: string }).kind;
  const venueClientOrderId = clientOrderIdCodec(kind).encode(input.clientOrderId);
  const order = () => exchange.getOrder(accountId, { clientOrderId: venueClientOrderId });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@perpmesh/source', CHILD, JSON.stringify(input)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += String(d);
  });
  child.stderr.on('data', (d) => {
    err += String(d);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const { clientOrderId, afterMs } = input;
  try {
    await eventually(
      'execution placed the order and armed',
      () => out.includes('armed') || child.exitCode !== null,
      60_000,
    );
    assert.match(out, new RegExp(`armed ${clientOrderId} accepted`), `child: ${out} ${err}`);
    assert.equal(order()?.status, 'accepted');
    assert.ok(exchange.cancelAllDeadline(accountId) !== undefined, 'execution armed the venue switch');
    // Alive: execution refreshes, so the order outlives the first deadline.
    const armedAt = Date.now();
    await eventually('past the first deadline', () => Date.now() - armedAt > afterMs + 500, afterMs + 10_000);
    assert.equal(order()?.status, 'accepted', 'refreshed by the running execution');

    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    const canceled = await eventually(
      'the venue canceled the order',
      () => (order()?.status === 'canceled' ? order() : undefined),
      afterMs + 10_000,
    );
    assert.equal(canceled?.endReason, 'dead_man_switch');
    assert.ok(
      Date.now() - killedAt <= afterMs + 1_500,
      `canceled ${Date.now() - killedAt} ms after the kill`,
    );
    assert.equal(exchange.openOrders(accountId).length, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** What the strategy runtime publishes when a strategy's trading state changes (stepper.ts). */
export async function publishTradingState(
  backend: Pick<TestBackend, 'log' | 'subjects'>,
  strategyId: string,
  state: 'halted' | 'active',
  atMs: number,
): Promise<void> {
  const envelope = newEnvelope({
    source: `strategy/${strategyId}`,
    tsEventMs: atMs,
    tsInitMs: atMs,
    payload: {
      $case: 'strategyDecision',
      value: StrategyDecision.fromPartial({
        strategyId,
        kind: 'trading_state',
        decision: 'trading_state',
        reasonCode: state === 'halted' ? 'operator_halt' : 'operator_resume',
        reason: state.toUpperCase(),
        inputs: { trading_state: state },
        decisionId: `${strategyId}:${atMs}`,
        decidedAtMs: atMs,
      }),
    },
  });
  await publishEnvelope(backend.log, envelope, backend.subjects);
}
