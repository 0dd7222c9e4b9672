/**
 * The account deployable runs the lib's `accountServiceComponents`: the same builder
 * `perpmesh start` composes (libs/cli/src/embedded.unit.test.ts), after its own infrastructure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCOUNT_PROTO, ACCOUNT_SERVICE, ACCOUNT_VENUE_ACCESS } from '@perpmesh/account';
import { compositionOf } from '@perpmesh/app';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { accountConfigSchema } from './config.js';
import { buildComponents } from './main.js';

const logger = createLogger({ service: 'account-test', level: 'silent' });
const raw = {
  venues: { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } },
};

test('account main: its infrastructure, then the lib-built service and gRPC server', () => {
  const { config } = parseConfig(accountConfigSchema, raw, { env: {} });
  const components = buildComponents(config, logger);
  const composed = components.flatMap((c) => {
    const composition = compositionOf(c);
    return composition ? [{ component: c.name, ...composition }] : [];
  });
  const own = { name: ACCOUNT_SERVICE, venueAccess: ACCOUNT_VENUE_ACCESS, protoFile: ACCOUNT_PROTO };
  assert.deepEqual(composed, [
    { component: ACCOUNT_SERVICE, ...own },
    { component: `grpc ${ACCOUNT_SERVICE}`, ...own },
  ]);
  assert.deepEqual(
    components.slice(-2).map((c) => c.name),
    [ACCOUNT_SERVICE, `grpc ${ACCOUNT_SERVICE}`],
  );
});
