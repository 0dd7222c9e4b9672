/**
 * A crash between a fill's event and the order event it implies: the log holds SUBMITTED,
 * ACCEPTED and the fill, but not FILLED. The restarted service folds the fill (the order is
 * filled in memory) and must publish the missing FILLED itself — reconciliation skips
 * orders that are no longer open, so nothing else would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEnvelope, OrderEventKind, subjectFor } from '@perpmesh/contracts';
import { openTestBackend } from '@perpmesh/testing';
import { BTC, execEvents, newExchange, newService, size, timeline } from './harness.test-helper.js';

test('a FILLED event missing from the log after a crash is published on restart, once', async () => {
  const ex = newExchange();
  const first = await openTestBackend('embedded', { prefix: 'GAP' });
  const second = await openTestBackend('embedded', { prefix: 'GAP' });
  try {
    const a = newService({ ...first, directory: ex.directory, instance: 'a' });
    await a.service.start();
    const { ask } = await ex.top('paper');
    const placed = await a.service.engine.placeOrder({
      request: {
        clientOrderId: 'gap-1',
        venue: 'paper',
        account: 'main',
        instrument: BTC,
        side: 'buy',
        type: 'limit',
        timeInForce: 'gtc',
        price: ask.plus(50),
        size: size('0.01'),
        reduceOnly: false,
      },
      correlationId: '',
    });
    assert.equal(placed.order.state.clientOrderId, 'gap-1');
    await a.service.engine.settled();
    await a.service.stop();
    const full = await execEvents(first.log, first.stream('EXEC'));
    assert.deepEqual(timeline(full, 'gap-1'), ['SUBMITTED', 'ACCEPTED', 'fill', 'FILLED']);

    // The second log is the first one as a crash left it: everything but FILLED.
    for (const e of full) {
      const missing =
        e.payload?.$case === 'orderEvent' && e.payload.value.kind === OrderEventKind.ORDER_EVENT_KIND_FILLED;
      if (missing) continue;
      await second.log.publish({
        subject: subjectFor(e, second.subjects),
        id: e.id,
        data: encodeEnvelope(e),
      });
    }
    assert.deepEqual(timeline(await execEvents(second.log, second.stream('EXEC')), 'gap-1'), [
      'SUBMITTED',
      'ACCEPTED',
      'fill',
    ]);

    const b = newService({ ...second, directory: ex.directory, instance: 'b' });
    await b.service.start();
    await b.service.engine.settled();
    await b.service.stop();
    const after = timeline(await execEvents(second.log, second.stream('EXEC')), 'gap-1');
    assert.deepEqual(after, ['SUBMITTED', 'ACCEPTED', 'fill', 'FILLED']);
    // The republished FILLED has the fact's id: the same event the crashed process would have sent.
    const filledIds = (log: Awaited<ReturnType<typeof execEvents>>) =>
      log
        .filter(
          (e) =>
            e.payload?.$case === 'orderEvent' &&
            e.payload.value.kind === OrderEventKind.ORDER_EVENT_KIND_FILLED,
        )
        .map((e) => e.id);
    assert.deepEqual(filledIds(await execEvents(second.log, second.stream('EXEC'))), filledIds(full));
  } finally {
    ex.hub.close();
    await first.close();
    await second.close();
  }
});
