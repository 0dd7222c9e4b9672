/**
 * The dashboard's explain timeline is the CLI's: the gateway's `GET /api/explain/<id>` with
 * `explainSource` over a real embedded event log answers what `perpmesh explain --json`
 * prints, here for a canceled order (the decision that placed it, the one that canceled it).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  type Envelope,
  newEnvelope,
  Order,
  OrderEventKind,
  publishEnvelope,
  Side,
  StrategyDecision,
} from '@perpmesh/contracts';
import { Gateway, type GatewayBackends, mountGateway } from '@perpmesh/gateway';
import { createLogger } from '@perpmesh/runtime';
import { openTestBackend, type TestBackend } from '@perpmesh/testing';
import { explain, explainSource } from './explain.js';

const logger = createLogger({ service: 'explain-gateway-test', level: 'silent' });
const T = 1_765_000_000_000;

const noBackends = {
  venueStatus: async () => ({ venues: [] }),
  fundingRates: async () => ({ rates: [] }),
  balances: async () => ({ balances: [] }),
  positions: async () => ({ positions: [] }),
  accountSummary: async () => ({ accounts: [], totals: [] }),
  openOrders: async () => ({ orders: [] }),
  cancelAllOrders: async () => ({ orders: [] }),
  close() {},
} as GatewayBackends;

function decision(tsMs: number, fields: Partial<StrategyDecision>): Envelope {
  return newEnvelope({
    source: 'strategy/0',
    tsEventMs: tsMs,
    tsInitMs: tsMs,
    payload: {
      $case: 'strategyDecision',
      value: StrategyDecision.fromPartial({ strategyId: 'arb-1', kind: 'decision', ...fields }),
    },
  });
}

/** An exec.order event as execution writes it: the envelope names the cause, the order its placer. */
function orderEvent(kind: OrderEventKind, tsMs: number, placedBy: string, causedBy = placedBy): Envelope {
  return newEnvelope({
    source: 'execution/0',
    tsEventMs: tsMs,
    tsInitMs: tsMs,
    correlationId: causedBy,
    payload: {
      $case: 'orderEvent',
      value: {
        kind,
        reason: '',
        order: Order.fromPartial({
          clientOrderId: 'arb-1_rest',
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          side: Side.SIDE_BUY,
          price: '59000',
          size: '0.1',
          filledSize: '0',
          correlationId: placedBy,
        }),
      },
    },
  });
}

let backend: TestBackend;
let url: string;
let close: () => Promise<void>;
let canceled: Envelope;

before(async () => {
  backend = await openTestBackend('embedded', { prefix: 'EXPLGW' });
  const placing = decision(T, {
    decision: 'enter',
    decisionId: 'arb-1:7',
    reasonCode: 'net_carry_above_threshold',
    reason: 'enter both legs',
    inputs: { 'paper.rate_per_hour': '0.0000125', 'paper.mid': '60000', 'paper.available': '100000' },
  });
  const canceling = decision(T + 5_000, {
    decision: 'cancel',
    decisionId: 'arb-1:8',
    reasonCode: 'operator_cancel_all',
    reason: 'cancel every own open order',
  });
  canceled = orderEvent(OrderEventKind.ORDER_EVENT_KIND_CANCELED, T + 5_020, placing.id, canceling.id);
  for (const e of [
    placing,
    canceling,
    orderEvent(OrderEventKind.ORDER_EVENT_KIND_SUBMITTED, T + 10, placing.id),
    orderEvent(OrderEventKind.ORDER_EVENT_KIND_ACCEPTED, T + 20, placing.id),
    orderEvent(OrderEventKind.ORDER_EVENT_KIND_CANCEL_REQUESTED, T + 5_010, placing.id, canceling.id),
    canceled,
  ]) {
    await publishEnvelope(backend.log, e, backend.subjects);
  }
  const gateway = new Gateway({
    backends: noBackends,
    actions: { token: () => undefined, allowUnauthenticated: false },
    explain: explainSource({
      reader: () => backend.log,
      subjects: backend.subjects,
      streamPrefix: backend.streamPrefix,
    }),
    logger,
  });
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  mountGateway(server, gateway, logger);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
});

after(async () => {
  await close?.();
  await backend?.close();
});

test('GET /api/explain/<cancel event id>: the placing and the canceling decision, as `perpmesh explain --json`', async () => {
  const res = await fetch(`${url}/api/explain/${canceled.id}`);
  assert.equal(res.status, 200);
  const { asOfMs, ...body } = (await res.json()) as Record<string, unknown> & {
    placedBy?: { decisionId: string; inputs: { funding: Record<string, string> } };
    canceledBy: Array<{ decisionId: string; reasonCode: string }>;
  };
  assert.equal(typeof asOfMs, 'number');
  assert.equal(body.clientOrderId, 'arb-1_rest');
  assert.equal(body.placedBy?.decisionId, 'arb-1:7');
  assert.deepEqual(body.placedBy?.inputs.funding, { 'paper.rate_per_hour': '0.0000125' });
  assert.deepEqual(
    body.canceledBy.map((d) => [d.decisionId, d.reasonCode]),
    [['arb-1:8', 'operator_cancel_all']],
  );
  // The same JSON as the CLI's explain over the same log.
  const cli = await explain({
    reader: backend.log,
    subjects: backend.subjects,
    streamPrefix: backend.streamPrefix,
    target: canceled.id,
  });
  assert.deepEqual(body, JSON.parse(JSON.stringify(cli)));

  // By client order id (a click on an open order) and by decision id (a click on a decision).
  const byOrder = (await (await fetch(`${url}/api/explain/arb-1_rest`)).json()) as typeof body;
  assert.equal(byOrder.placedBy?.decisionId, 'arb-1:7');
  const byDecision = (await (await fetch(`${url}/api/explain/${encodeURIComponent('arb-1:7')}`)).json()) as {
    placedBy?: { decisionId: string };
  };
  assert.equal(byDecision.placedBy?.decisionId, 'arb-1:7');
  assert.equal((await fetch(`${url}/api/explain/nothing-here`)).status, 404);
});
