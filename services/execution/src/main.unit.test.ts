/**
 * The execution deployable runs the lib's `executionServiceComponents`: the same builder
 * `perpmesh start` composes (libs/cli/src/embedded.unit.test.ts), after its own infrastructure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compositionOf } from '@perpmesh/app';
import { EXECUTION_PROTO, EXECUTION_SERVICE, EXECUTION_VENUE_ACCESS } from '@perpmesh/execution';
import { createLogger, parseConfig } from '@perpmesh/runtime';
import { executionConfigSchema } from './config.js';
import { buildComponents } from './main.js';

const logger = createLogger({ service: 'execution-test', level: 'silent' });
const raw = {
  venues: { paper: { kind: 'paper', instruments: ['BTC-USDC-PERP'], accounts: { main: {} } } },
};

test('execution main: its infrastructure, then the lib-built service and gRPC server', () => {
  const { config } = parseConfig(executionConfigSchema, raw, { env: {} });
  const components = buildComponents(config, logger);
  const composed = components.flatMap((c) => {
    const composition = compositionOf(c);
    return composition ? [{ component: c.name, ...composition }] : [];
  });
  const own = { name: EXECUTION_SERVICE, venueAccess: EXECUTION_VENUE_ACCESS, protoFile: EXECUTION_PROTO };
  assert.deepEqual(composed, [
    { component: EXECUTION_SERVICE, ...own },
    { component: `grpc ${EXECUTION_SERVICE}`, ...own },
  ]);
  assert.deepEqual(
    components.slice(-2).map((c) => c.name),
    [EXECUTION_SERVICE, `grpc ${EXECUTION_SERVICE}`],
  );
});
