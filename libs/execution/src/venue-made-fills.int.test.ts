/**
 * A liquidation at the venue: the venue-made fill reaches exec.fill with its origin, once
 * (user stream and fetchFills agree by fact id), and the fills of the account net to flat.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FillOrigin, OrderType, Side, TimeInForce } from '@perpmesh/contracts';
import { dec, ZERO } from '@perpmesh/core';
import { eventually, openTestBackend } from '@perpmesh/testing';
import { StaticVenueDirectory } from '@perpmesh/venues';
import { BTC, execEvents, newHub, newService, SpyVenue } from './harness.test-helper.js';
import { placeOrderCommandFromProto } from './validation.js';

const backend = await openTestBackend('embedded', { prefix: 'EXECLIQ' });
after(() => backend.close());

test('a sim liquidation: exec.fill carries the liquidation fill once and the account nets to flat', async () => {
  const hub = newHub([{ venueId: 'paper', accountId: 'thin', deposit: '100' }]);
  const port = new SpyVenue(hub.venue('paper', 'thin'));
  const svc = newService({ ...backend, directory: new StaticVenueDirectory([port]) });
  await svc.service.start();
  const second = newService({ ...backend, directory: new StaticVenueDirectory([port]), instance: 'b' });
  try {
    await port.setLeverage(BTC, dec(50));
    const placed = await svc.service.engine.placeOrder(
      placeOrderCommandFromProto({
        clientOrderId: `liq-${process.pid}`,
        venue: 'paper',
        account: 'thin',
        instrument: BTC,
        side: Side.SIDE_BUY,
        type: OrderType.ORDER_TYPE_MARKET,
        timeInForce: TimeInForce.TIME_IN_FORCE_IOC,
        price: '',
        size: '0.05',
        reduceOnly: false,
        correlationId: '',
      }),
    );
    assert.equal(placed.order.state.status, 'filled');
    const mark = hub.exchange('paper').markPrice(BTC);
    assert.ok(mark);
    const crash = mark.mul('0.9').toDecimalPlaces(1);
    hub.command('paper', (exchange) => exchange.setPrices(BTC, { markPrice: crash, indexPrice: crash }));

    const fillsOf = async () =>
      (await execEvents(backend.log, backend.stream('EXEC'))).flatMap((e) =>
        e.payload?.$case === 'fill' && e.payload.value.account === 'thin' ? [e.payload.value] : [],
      );
    // Both facts reach the log on their own paths (the order's fill from the user stream, the
    // liquidation from the venue): wait for the two, in whatever order they land.
    const fills = await eventually('the order fill and the liquidation fill on exec.fill', async () => {
      const all = await fillsOf();
      const liquidated = all.some((f) => f.origin === FillOrigin.FILL_ORIGIN_LIQUIDATION);
      const bought = all.some((f) => f.clientOrderId === `liq-${process.pid}`);
      return liquidated && bought ? all : undefined;
    });
    const liquidation = fills.filter((f) => f.origin === FillOrigin.FILL_ORIGIN_LIQUIDATION);
    assert.equal(liquidation.length, 1);
    assert.equal(liquidation[0]!.clientOrderId, '');
    assert.equal(liquidation[0]!.side, Side.SIDE_SELL);
    assert.equal(liquidation[0]!.size, '0.05');
    // The account's fills net to the venue's position: flat.
    const net = fills.reduce((sum, f) => {
      const size = dec(f.size);
      return f.side === Side.SIDE_BUY ? sum.plus(size) : sum.minus(size);
    }, ZERO);
    assert.ok(net.isZero(), `net ${net.toFixed()}`);

    // Another replica reconciles at start from fetchFills (the liquidation is there too): the
    // fact id keeps it one event on the log.
    await second.service.start();
    await second.service.engine.settled();
    assert.equal((await fillsOf()).filter((f) => f.origin === FillOrigin.FILL_ORIGIN_LIQUIDATION).length, 1);
  } finally {
    await second.service.stop();
    await svc.service.stop();
    hub.close();
  }
});
