/**
 * The execution deployable runs the lib's `executionServiceComponents`, the builder
 * `perpmesh start` composes too (libs/cli/src/embedded.unit.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compositionsIn } from '@perpmesh/app';
import { EXECUTION_PROTO, EXECUTION_SERVICE, EXECUTION_VENUE_ACCESS } from '@perpmesh/execution';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { executionConfigSchema } from './config.js';
import { buildComponents } from './main.js';

test('execution main: its infrastructure, then the lib-built service and its gRPC server', () => {
  const venues = { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } };
  const { config } = parseConfig(executionConfigSchema, { venues }, { env: {} });
  const components = buildComponents(config, createLogger({ service: 'test', level: 'silent' }));
  assert.deepEqual(compositionsIn(components), [
    { name: EXECUTION_SERVICE, venueAccess: EXECUTION_VENUE_ACCESS, protoFile: EXECUTION_PROTO },
  ]);
  assert.deepEqual(components.map((c) => c.name).slice(-2), [EXECUTION_SERVICE, `grpc ${EXECUTION_SERVICE}`]);
});
