/**
 * The account deployable runs the lib's `accountServiceComponents`, the builder
 * `perpmesh start` composes too (libs/cli/src/embedded.unit.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCOUNT_PROTO, ACCOUNT_SERVICE, ACCOUNT_VENUE_ACCESS } from '@perpmesh/account';
import { compositionsIn } from '@perpmesh/app';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { accountConfigSchema } from './config.js';
import { buildComponents } from './main.js';

test('account main: its infrastructure, then the lib-built service and its gRPC server', () => {
  const venues = { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } };
  const { config } = parseConfig(accountConfigSchema, { venues }, { env: {} });
  const components = buildComponents(config, createLogger({ service: 'test', level: 'silent' }));
  assert.deepEqual(compositionsIn(components), [
    { name: ACCOUNT_SERVICE, venueAccess: ACCOUNT_VENUE_ACCESS, protoFile: ACCOUNT_PROTO },
  ]);
  assert.deepEqual(components.map((c) => c.name).slice(-2), [ACCOUNT_SERVICE, `grpc ${ACCOUNT_SERVICE}`]);
});
