/**
 * The strategy deployable runs the lib's `strategyServiceComponents`: the same builder
 * `perpmesh start` composes (libs/cli/src/embedded.unit.test.ts), after its own infrastructure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compositionOf } from '@perpmesh/app';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { STRATEGY_PROTO, STRATEGY_SERVICE, STRATEGY_VENUE_ACCESS } from '@perpmesh/strategy/runtime';
import { strategyConfigSchema } from './config.js';
import { buildComponents } from './main.js';

const logger = createLogger({ service: 'strategy-test', level: 'silent' });
const raw = {
  venues: { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } },
};

test('strategy main: its infrastructure, then the lib-built service and gRPC server', () => {
  const { config } = parseConfig(strategyConfigSchema, raw, { env: {} });
  const components = buildComponents(config, logger);
  const composed = components.flatMap((c) => {
    const composition = compositionOf(c);
    return composition ? [{ component: c.name, ...composition }] : [];
  });
  const own = { name: STRATEGY_SERVICE, venueAccess: STRATEGY_VENUE_ACCESS, protoFile: STRATEGY_PROTO };
  assert.deepEqual(composed, [
    { component: STRATEGY_SERVICE, ...own },
    { component: `grpc ${STRATEGY_SERVICE}`, ...own },
  ]);
  assert.deepEqual(
    components.slice(-2).map((c) => c.name),
    [STRATEGY_SERVICE, `grpc ${STRATEGY_SERVICE}`],
  );
});
