import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newEnvelope, Order, OrderEventKind, Side, StrategyDecision, Subjects } from '@perpmesh/contracts';
import { explain } from './explain.js';
import { MemoryReader } from './memory-reader.test-helper.js';

const subjects = new Subjects();
const T = 1_765_000_000_000;

function decision(id: string, tsMs: number, fields: Partial<StrategyDecision>) {
  return newEnvelope({
    id,
    source: 'strategy/0',
    tsEventMs: tsMs,
    tsInitMs: tsMs,
    payload: {
      $case: 'strategyDecision',
      value: StrategyDecision.fromPartial({ strategyId: 'arb-1', kind: 'decision', ...fields }),
    },
  });
}

/** `canceledBy`: what a cancel's events carry as their correlation id (the canceling decision). */
function orderEvent(kind: OrderEventKind, tsMs: number, correlationId: string, canceledBy?: string) {
  return newEnvelope({
    source: 'execution/0',
    tsEventMs: tsMs,
    tsInitMs: tsMs,
    correlationId: canceledBy ?? correlationId,
    payload: {
      $case: 'orderEvent',
      value: {
        kind,
        reason: kind === OrderEventKind.ORDER_EVENT_KIND_CANCELED ? 'canceled by request' : '',
        order: Order.fromPartial({
          clientOrderId: 'arb-1_rest',
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          side: Side.SIDE_BUY,
          price: '59000',
          size: '0.1',
          filledSize: '0',
          correlationId,
        }),
      },
    },
  });
}

function journalLine(entry: object): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(entry)}\n`);
}

test('explain a canceled order: the decision that placed it, the one that canceled it, and their trigger inputs', async () => {
  const reader = new MemoryReader();
  const placing = decision('01900000-0000-7000-8000-000000000001', T, {
    decision: 'enter',
    decisionId: 'arb-1:7',
    reasonCode: 'net_carry_above_threshold',
    reason: 'enter both legs',
    inputs: {
      'paper.rate_per_hour': '0.0000125',
      'paper.mid': '60000',
      'paper.available': '100000',
      size: '0.1',
    },
  });
  const canceling = decision('01900000-0000-7000-8000-000000000002', T + 5_000, {
    decision: 'cancel',
    decisionId: 'arb-1:8',
    reasonCode: 'operator_halt',
    reason: 'halted by the operator',
    // A cancel of every own order: the decision names no client order id, the cancel's events name it.
    cancelClientOrderIds: [],
  });
  reader.add('STRAT', 'strat.arb-1.decision', placing);
  reader.add('STRAT', 'strat.arb-1.decision', canceling);
  const exec = subjects.execOrder('paper', 'main');
  reader.add('EXEC', exec, orderEvent(OrderEventKind.ORDER_EVENT_KIND_SUBMITTED, T + 10, placing.id));
  reader.add('EXEC', exec, orderEvent(OrderEventKind.ORDER_EVENT_KIND_ACCEPTED, T + 20, placing.id));
  reader.add(
    'EXEC',
    exec,
    orderEvent(OrderEventKind.ORDER_EVENT_KIND_CANCEL_REQUESTED, T + 5_010, placing.id, canceling.id),
  );
  const canceled = orderEvent(OrderEventKind.ORDER_EVENT_KIND_CANCELED, T + 5_020, placing.id, canceling.id);
  reader.add('EXEC', exec, canceled);
  const journal = subjects.stratJournal('arb-1');
  reader.addRaw(
    'JOURNAL',
    journal,
    'j1',
    journalLine({
      t: 'input',
      r: 'run1',
      n: 3,
      now: T,
      in: { kind: 'tick', nowMs: T },
      decisions: [{ id: 'arb-1:7' }],
    }),
    T,
  );
  reader.addRaw(
    'JOURNAL',
    journal,
    'j2',
    journalLine({
      t: 'input',
      r: 'run1',
      n: 4,
      now: T + 5_000,
      in: { kind: 'operator', action: 'halt', nowMs: T + 5_000 },
      decisions: [{ id: 'arb-1:8' }],
    }),
    T + 5_000,
  );

  // By the cancel event's id, as an operator clicking it would.
  const x = await explain({ reader, subjects, streamPrefix: '', target: canceled.id });
  assert.equal(x.clientOrderId, 'arb-1_rest');
  assert.equal(x.placedBy?.decisionId, 'arb-1:7');
  assert.deepEqual(x.placedBy?.inputs.funding, { 'paper.rate_per_hour': '0.0000125' });
  assert.deepEqual(x.placedBy?.inputs.books, { 'paper.mid': '60000' });
  assert.deepEqual(x.placedBy?.inputs.balances, { 'paper.available': '100000' });
  assert.equal(x.placedBy?.trigger?.input, 'tick');
  assert.deepEqual(
    x.canceledBy.map((d) => [d.decisionId, d.reasonCode, d.trigger?.input]),
    [['arb-1:8', 'operator_halt', 'operator halt']],
  );
  assert.deepEqual(
    x.timeline.map((t) => t.what.split(':')[0]),
    [
      'input tick',
      'placed by',
      'order submitted',
      'order accepted',
      'input operator halt',
      'cancel requested by',
      'order cancel_requested',
      'order canceled (canceled by request)',
    ],
  );
  assert.deepEqual(x.problems, []);
  assert.equal(x.canceledBy[0]?.decision, 'cancel');
  assert.equal(x.canceledBy[0]?.trigger?.n, 4, 'the journal input that triggered the cancel');
});

test('explain on a cancel of an older log: the decision whose cancel_client_order_ids name the order', async () => {
  const reader = new MemoryReader();
  const placing = decision('01900000-0000-7000-8000-000000000011', T, { decisionId: 'arb-1:1' });
  const canceling = decision('01900000-0000-7000-8000-000000000012', T + 1_000, {
    decisionId: 'arb-1:2',
    cancelClientOrderIds: ['arb-1_rest'],
  });
  reader.add('STRAT', 'strat.arb-1.decision', placing);
  reader.add('STRAT', 'strat.arb-1.decision', canceling);
  const exec = subjects.execOrder('paper', 'main');
  reader.add('EXEC', exec, orderEvent(OrderEventKind.ORDER_EVENT_KIND_SUBMITTED, T + 10, placing.id));
  const canceled = orderEvent(OrderEventKind.ORDER_EVENT_KIND_CANCELED, T + 1_010, placing.id);
  reader.add('EXEC', exec, canceled);
  const x = await explain({ reader, subjects, streamPrefix: '', target: canceled.id });
  assert.equal(x.placedBy?.decisionId, 'arb-1:1');
  assert.deepEqual(
    x.canceledBy.map((d) => d.decisionId),
    ['arb-1:2'],
  );
});

test('explain names what it cannot find', async () => {
  const reader = new MemoryReader();
  reader.add(
    'EXEC',
    subjects.execOrder('paper', 'main'),
    orderEvent(OrderEventKind.ORDER_EVENT_KIND_SUBMITTED, T, ''),
  );
  const manual = await explain({ reader, subjects, streamPrefix: '', target: 'arb-1_rest' });
  assert.match(manual.problems.join(), /no strategy decision placed arb-1_rest/);
  const nothing = await explain({ reader, subjects, streamPrefix: '', target: 'missing' });
  assert.deepEqual(nothing.timeline, []);
  assert.match(nothing.problems.join(), /no order, fill or decision with id "missing"/);
});
