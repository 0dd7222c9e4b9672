import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '@perpmesh/core';
import { CATALOG_INSTRUMENTS, catalogInstrument, defaultWorldConfig, SimWorld } from './index.js';

const START_MS = Date.UTC(2026, 0, 1, 7, 59, 30);
const EXTRA = CATALOG_INSTRUMENTS.map((c) => c.spec.instrumentId);

describe('catalog instruments in the default world', () => {
  test('without them the world is the BTC/ETH one every existing seed pins', () => {
    const plain = defaultWorldConfig({ seed: 7, startMs: START_MS });
    assert.deepEqual(
      plain.indices.map((i) => i.instrumentId),
      ['BTC-USDC-PERP', 'ETH-USDC-PERP'],
    );
    assert.deepEqual(defaultWorldConfig({ seed: 7, startMs: START_MS, instruments: [] }), plain);
    // BTC/ETH named explicitly change nothing either.
    assert.deepEqual(
      defaultWorldConfig({ seed: 7, startMs: START_MS, instruments: ['BTC-USDC-PERP', 'ETH-USDC-PERP'] }),
      plain,
    );
  });

  test('ten instruments on every venue: quoted books around each price, deterministic from the seed', () => {
    const run = (seed: number) => {
      const world = new SimWorld(defaultWorldConfig({ seed, startMs: START_MS, instruments: EXTRA }));
      for (let i = 0; i <= 20; i++) world.step(START_MS + i * 1000);
      return world;
    };
    const [a, b, c] = [run(11), run(11), run(12)];
    for (const venue of a.venueIds()) {
      const listed = a.exchange(venue).config.instruments.map((i) => i.instrumentId);
      assert.equal(listed.length, 10, `${venue}: ${listed.join(', ')}`);
      for (const extra of CATALOG_INSTRUMENTS) {
        const id = extra.spec.instrumentId;
        const { bid, ask } = a.exchange(venue).bestBidAsk(id);
        assert.ok(bid && ask && bid.price.lt(ask.price), `${venue} ${id} has a two-sided book`);
        const mid = bid.price.add(ask.price).div(2);
        const start = new Decimal(extra.initialPrice.toString());
        assert.ok(mid.div(start).sub(1).abs().lt(0.05), `${venue} ${id} mid ${mid} near ${start}`);
        assert.ok(a.indexPrice(id).eq(b.indexPrice(id)), `${id}: same seed, same index`);
      }
    }
    assert.ok(
      EXTRA.some((id) => !a.indexPrice(id).eq(c.indexPrice(id))),
      'another seed moves differently',
    );
  });

  test('lookup by id; BTC and ETH are the presets own', () => {
    assert.equal(catalogInstrument('SOL-USDC-PERP')?.spec.tickSize, '0.01');
    assert.equal(catalogInstrument('BTC-USDC-PERP'), undefined);
    assert.equal(new Set(EXTRA).size, 8);
  });
});
