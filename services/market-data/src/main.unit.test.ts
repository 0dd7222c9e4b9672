/**
 * The market-data deployable runs the lib's `marketDataServiceComponents`: the same builder
 * `perpmesh start` composes (libs/cli/src/embedded.unit.test.ts), after its own infrastructure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compositionOf } from '@perpmesh/app';
import { MARKET_DATA_PROTO, MARKET_DATA_SERVICE, MARKET_DATA_VENUE_ACCESS } from '@perpmesh/market-data';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { marketDataConfigSchema } from './config.js';
import { buildComponents } from './main.js';

const logger = createLogger({ service: 'market-data-test', level: 'silent' });
const raw = {
  venues: { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } },
};

test('market-data main: its infrastructure, then the lib-built service and gRPC server', () => {
  const { config } = parseConfig(marketDataConfigSchema, raw, { env: {} });
  const components = buildComponents(config, logger);
  const composed = components.flatMap((c) => {
    const composition = compositionOf(c);
    return composition ? [{ component: c.name, ...composition }] : [];
  });
  const own = {
    name: MARKET_DATA_SERVICE,
    venueAccess: MARKET_DATA_VENUE_ACCESS,
    protoFile: MARKET_DATA_PROTO,
  };
  assert.deepEqual(composed, [
    { component: MARKET_DATA_SERVICE, ...own },
    { component: `grpc ${MARKET_DATA_SERVICE}`, ...own },
  ]);
  assert.deepEqual(
    components.slice(-2).map((c) => c.name),
    [MARKET_DATA_SERVICE, `grpc ${MARKET_DATA_SERVICE}`],
  );
});
