/**
 * The strategy deployable runs the lib's `strategyServiceComponents`, the builder
 * `perpmesh start` composes too (libs/cli/src/embedded.unit.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compositionsIn } from '@perpmesh/app';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { STRATEGY_PROTO, STRATEGY_SERVICE, STRATEGY_VENUE_ACCESS } from '@perpmesh/strategy/runtime';
import { strategyConfigSchema } from './config.js';
import { buildComponents } from './main.js';

test('strategy main: its infrastructure, then the lib-built service and its gRPC server', () => {
  const venues = { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } };
  const { config } = parseConfig(strategyConfigSchema, { venues }, { env: {} });
  const components = buildComponents(config, createLogger({ service: 'test', level: 'silent' }));
  assert.deepEqual(compositionsIn(components), [
    { name: STRATEGY_SERVICE, venueAccess: STRATEGY_VENUE_ACCESS, protoFile: STRATEGY_PROTO },
  ]);
  assert.deepEqual(components.map((c) => c.name).slice(-2), [STRATEGY_SERVICE, `grpc ${STRATEGY_SERVICE}`]);
});
