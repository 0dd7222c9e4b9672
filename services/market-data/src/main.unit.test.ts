/**
 * The market-data deployable runs the lib's `marketDataServiceComponents`, the builder
 * `perpmesh start` composes too (libs/cli/src/embedded.unit.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compositionsIn } from '@perpmesh/app';
import { MARKET_DATA_PROTO, MARKET_DATA_SERVICE, MARKET_DATA_VENUE_ACCESS } from '@perpmesh/market-data';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { marketDataConfigSchema } from './config.js';
import { buildComponents } from './main.js';

test('market-data main: its infrastructure, then the lib-built service and its gRPC server', () => {
  const venues = { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } };
  const { config } = parseConfig(marketDataConfigSchema, { venues }, { env: {} });
  const components = buildComponents(config, createLogger({ service: 'test', level: 'silent' }));
  assert.deepEqual(compositionsIn(components), [
    { name: MARKET_DATA_SERVICE, venueAccess: MARKET_DATA_VENUE_ACCESS, protoFile: MARKET_DATA_PROTO },
  ]);
  assert.deepEqual(components.map((c) => c.name).slice(-2), [
    MARKET_DATA_SERVICE,
    `grpc ${MARKET_DATA_SERVICE}`,
  ]);
});

test('market-data main with leases: a drain after the gRPC server, so a clean stop hands the pairs over while queries are answered', () => {
  const venues = { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } };
  const { config } = parseConfig(
    marketDataConfigSchema,
    { venues, mode: 'distributed', marketData: { leases: { enabled: true } } },
    { env: {} },
  );
  const components = buildComponents(config, createLogger({ service: 'test', level: 'silent' }));
  // Started in this order, stopped in reverse: the drain's stop runs first.
  assert.deepEqual(components.map((c) => c.name).slice(-3), [
    MARKET_DATA_SERVICE,
    `grpc ${MARKET_DATA_SERVICE}`,
    `${MARKET_DATA_SERVICE} drain`,
  ]);
  // Its stop limit covers the handover (5 s) and a lease round (1 s), not the lifecycle's 10 s.
  assert.equal(components.at(-1)?.stopTimeoutMs, 5_000 + 1_000 + 5_000);
});
