/**
 * The per-stage placement histograms (metrics.ts `perpmesh_execution_order_stage_seconds`)
 * fill when an order goes through: every stage once per placed order, the nonce stage only
 * on a nonce venue, the announced-fills wait only when the venue's answer counts fills not
 * seen yet.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createMetrics, type ServiceMetrics } from '@perpmesh/runtime';
import { openTestBackend, type TestBackend } from '@perpmesh/testing';
import { type Exchange, newExchange, newService, type ServiceUnderTest } from './harness.test-helper.js';
import { ORDER_STAGES, type OrderStage } from './metrics.js';
import { cid, limitRequest } from './scenarios.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

let backend: TestBackend;
let ex: Exchange;
let svc: ServiceUnderTest;
let metrics: ServiceMetrics;

before(async () => {
  backend = await openTestBackend('embedded', { prefix: 'STAGES' });
  ex = newExchange();
  metrics = createMetrics('execution', { defaultMetrics: false });
  svc = newService({ ...backend, directory: ex.directory, metrics });
  await svc.service.start();
});

after(async () => {
  await svc.service.stop();
  ex.hub.close();
  await backend.close();
});

/** Observation count per stage of the stage histogram. */
async function stageCounts(): Promise<Map<string, number>> {
  const json = await metrics.registry.getMetricsAsJSON();
  const histogram = json.find((m) => m.name === 'perpmesh_execution_order_stage_seconds');
  assert.ok(histogram, 'the stage histogram is registered');
  const counts = new Map<string, number>();
  for (const v of histogram.values as Array<{
    metricName?: string;
    labels: Record<string, string>;
    value: number;
  }>) {
    if (v.metricName?.endsWith('_count')) counts.set(String(v.labels.stage), v.value);
  }
  return counts;
}

test('a placed order on a venue without nonces fills every stage but the nonce once', async () => {
  const { bid } = await ex.top('paper');
  const result = await svc.service.engine.placeOrder(
    placeOrderCommandFromProto(limitRequest('paper', cid('stages'), 'buy', bid.minus('100'), '0.01')),
  );
  assert.equal(result.order.state.status, 'accepted');
  const counts = await stageCounts();
  for (const stage of ORDER_STAGES.filter((s) => s !== 'nonce' && s !== 'announced_fills')) {
    assert.equal(counts.get(stage), 1, `stage ${stage}`);
  }
  assert.equal(counts.get('nonce') ?? 0, 0, 'no nonce on a venue without nonces');
  assert.equal(counts.get('announced_fills') ?? 0, 0, 'a resting order waits for no fills');
});

test('on a nonce venue the nonce stage fills too', async () => {
  const { bid } = await ex.top('paper-lighter');
  const result = await svc.service.engine.placeOrder(
    placeOrderCommandFromProto(limitRequest('paper-lighter', cid('stages'), 'buy', bid.minus('100'), '0.01')),
  );
  assert.equal(result.order.state.status, 'accepted');
  const counts = await stageCounts();
  const expected: Record<OrderStage, number> = {
    validation: 2,
    idempotency_claim: 2,
    write_ahead_publish: 2,
    claim_submitted: 2,
    nonce: 1,
    venue_call: 2,
    acceptance_publish: 2,
    announced_fills: 0,
  };
  for (const stage of ORDER_STAGES) assert.equal(counts.get(stage) ?? 0, expected[stage], `stage ${stage}`);
});
