/** Venue readiness: the port-stream mirror (exact VENUE_COMPONENT names), components, and their changes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ReadinessComponent, VENUE_COMPONENT } from '@perpmesh/venues';
import {
  type ComponentView,
  DEFAULT_PORT_STREAM_COMPONENTS,
  portStreamChange,
  portStreamDownReason,
  updateComponentViews,
  type VenueReadinessFacts,
  venueComponentStates,
} from './venue-readiness.js';

const c = (component: ReadinessComponent['component'], ready: boolean, reason = ''): ReadinessComponent => ({
  component,
  ready,
  reason,
});

describe('port stream readiness mirror', () => {
  test('down when a market-data component is not ready, with its reason', () => {
    const readiness = () => [
      c(VENUE_COMPONENT.markets, true),
      c(VENUE_COMPONENT.link, false, 'paper-venue at 127.0.0.1:50060 unreachable'),
    ];
    assert.equal(
      portStreamDownReason(readiness, DEFAULT_PORT_STREAM_COMPONENTS),
      'paper-venue at 127.0.0.1:50060 unreachable',
    );
  });

  test('up when only components that carry no market data are down', () => {
    const readiness = () => [
      c(VENUE_COMPONENT.marketStream, true),
      c(VENUE_COMPONENT.userStream, false, 'user stream reconnecting'),
      c(VENUE_COMPONENT.balance, false, 'no collateral'),
    ];
    assert.equal(portStreamDownReason(readiness, DEFAULT_PORT_STREAM_COMPONENTS), undefined);
  });

  test('names match exactly, never by pattern', () => {
    const readiness = () => [{ component: 'market stream (ws)', ready: false, reason: 'x' } as never];
    assert.equal(portStreamDownReason(readiness, DEFAULT_PORT_STREAM_COMPONENTS), undefined);
    assert.deepEqual(DEFAULT_PORT_STREAM_COMPONENTS, ['market stream', 'link']);
  });

  test('a port whose readiness throws is down, saying why', () => {
    const reason = portStreamDownReason(() => {
      throw new Error('closed');
    }, DEFAULT_PORT_STREAM_COMPONENTS);
    assert.equal(reason, 'readiness of the venue port failed: closed');
  });
});

describe('port stream changes', () => {
  const up = { down: false, reason: '' };
  test('down the first time, and again only with a new reason', () => {
    const first = portStreamChange('paper', up, 'link lost');
    assert.deepEqual(first, { change: 'down', reason: 'market stream of paper down: link lost' });
    const down = { down: true, reason: 'market stream of paper down: link lost' };
    assert.equal(portStreamChange('paper', down, 'link lost'), undefined);
    assert.deepEqual(portStreamChange('paper', down, 'auth expired'), {
      change: 'down',
      reason: 'market stream of paper down: auth expired',
    });
  });

  test('up only when it was down', () => {
    assert.deepEqual(portStreamChange('paper', { down: true, reason: 'x' }, undefined), { change: 'up' });
    assert.equal(portStreamChange('paper', up, undefined), undefined);
  });
});

const facts = (over: Partial<VenueReadinessFacts> = {}): VenueReadinessFacts => ({
  venue: 'paper',
  marketsLoaded: true,
  marketsReason: '',
  subscribed: true,
  portStreamDown: false,
  streamReason: '',
  unsyncedBookReasons: [],
  fundingMissing: [],
  fundingError: '',
  ...over,
});

describe('venue components', () => {
  test('all ready with empty reasons', () => {
    assert.deepEqual(venueComponentStates(facts()), {
      symbols: [true, ''],
      market_stream: [true, ''],
      order_books: [true, ''],
      funding: [true, ''],
    });
  });

  test('each not ready with a reason a person can act on', () => {
    const s = venueComponentStates(
      facts({
        marketsLoaded: false,
        marketsReason: 'symbols on paper: cannot load markets: timeout',
        subscribed: false,
        unsyncedBookReasons: ['book A resyncing', 'book B no snapshot yet'],
        fundingMissing: ['BTC-USDC-PERP'],
        fundingError: '503',
      }),
    );
    assert.deepEqual(s.symbols, [false, 'symbols on paper: cannot load markets: timeout']);
    assert.deepEqual(s.market_stream, [false, 'market stream of paper: not subscribed yet']);
    assert.deepEqual(s.order_books, [false, 'book A resyncing; book B no snapshot yet']);
    assert.deepEqual(s.funding, [
      false,
      'funding on paper not known yet for BTC-USDC-PERP (last fetch failed: 503)',
    ]);
  });

  test('subscribed but the port says the stream is down: not ready with the port reason', () => {
    const s = venueComponentStates(
      facts({ portStreamDown: true, streamReason: 'market stream of paper down: x' }),
    );
    assert.deepEqual(s.market_stream, [false, 'market stream of paper down: x']);
  });
});

describe('component changes', () => {
  test('answers only what changed; since moves only when readiness flips', () => {
    const views = new Map<string, ComponentView>();
    const first = updateComponentViews(views, venueComponentStates(facts({ fundingMissing: ['X'] })), 1_000);
    assert.equal(first.length, 4);
    assert.deepEqual(
      updateComponentViews(views, venueComponentStates(facts({ fundingMissing: ['X'] })), 2_000),
      [],
    );
    const reason = updateComponentViews(
      views,
      venueComponentStates(facts({ fundingMissing: ['X'], fundingError: 'e' })),
      3_000,
    );
    assert.deepEqual(
      reason.map((v) => [v.component, v.ready, v.sinceMs]),
      [['funding', false, 1_000]],
    );
    const flip = updateComponentViews(views, venueComponentStates(facts()), 4_000);
    assert.deepEqual(
      flip.map((v) => [v.component, v.ready, v.sinceMs]),
      [['funding', true, 4_000]],
    );
  });
});
