/**
 * `perpmesh start` composes each service with the same builder its own deployable uses
 * (services/<name>/src/main.unit.test.ts checks the other side): the components of every
 * service come from its lib's `<name>ServiceComponents`, with the lib's names and protos.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACCOUNT_PROTO, ACCOUNT_SERVICE, ACCOUNT_VENUE_ACCESS } from '@perpmesh/account';
import { compositionOf, compositionsIn } from '@perpmesh/app';
import { EXECUTION_PROTO, EXECUTION_SERVICE, EXECUTION_VENUE_ACCESS } from '@perpmesh/execution';
import { MARKET_DATA_PROTO, MARKET_DATA_SERVICE, MARKET_DATA_VENUE_ACCESS } from '@perpmesh/market-data';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { STRATEGY_PROTO, STRATEGY_SERVICE, STRATEGY_VENUE_ACCESS } from '@perpmesh/strategy/runtime';
import { buildEmbeddedComponents, embeddedConfigSchema } from './embedded.js';

const logger = createLogger({ service: 'embedded-test', level: 'silent' });
const raw = {
  venues: { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } },
};

describe('embedded composition', () => {
  test('every service comes from its lib builder: service then `grpc <name>`, in dependency order', () => {
    const { config } = parseConfig(embeddedConfigSchema, raw, { env: {} });
    const { components } = buildEmbeddedComponents(config, logger);
    assert.deepEqual(compositionsIn(components), [
      { name: MARKET_DATA_SERVICE, venueAccess: MARKET_DATA_VENUE_ACCESS, protoFile: MARKET_DATA_PROTO },
      { name: EXECUTION_SERVICE, venueAccess: EXECUTION_VENUE_ACCESS, protoFile: EXECUTION_PROTO },
      { name: ACCOUNT_SERVICE, venueAccess: ACCOUNT_VENUE_ACCESS, protoFile: ACCOUNT_PROTO },
      { name: STRATEGY_SERVICE, venueAccess: STRATEGY_VENUE_ACCESS, protoFile: STRATEGY_PROTO },
    ]);
    const services = [MARKET_DATA_SERVICE, EXECUTION_SERVICE, ACCOUNT_SERVICE, STRATEGY_SERVICE];
    assert.deepEqual(
      components.filter((c) => compositionOf(c)).map((c) => c.name),
      services.flatMap((name) => [name, `grpc ${name}`]),
    );
    // Nothing else in the process is named like a service: no hand-made second copy.
    const handMade = components.filter((c) => !compositionOf(c)).map((c) => c.name);
    assert.deepEqual(handMade, ['session', 'http', 'event-log', 'state', 'venues', 'gateway']);
  });

  test('market data and strategies need public venue access only; execution and account trade', () => {
    assert.equal(MARKET_DATA_VENUE_ACCESS, 'public');
    assert.equal(STRATEGY_VENUE_ACCESS, 'public');
    assert.equal(EXECUTION_VENUE_ACCESS, 'trading');
    assert.equal(ACCOUNT_VENUE_ACCESS, 'trading');
  });
});
