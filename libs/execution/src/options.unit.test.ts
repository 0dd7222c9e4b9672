import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '@perpmesh/core';
import { EXECUTION_DEFAULTS, resolveExecutionOptions } from './options.js';

const HOUR_MS = 3_600_000;

test('a rebuild lookback shorter than the fill reconciliation lookback is refused, naming the field', () => {
  assert.throws(
    () => resolveExecutionOptions({ rebuildLookbackMs: HOUR_MS, fillReconcileLookbackMs: 2 * HOUR_MS }),
    (err: unknown) => err instanceof ValidationError && /execution\.rebuildLookback/.test(err.message),
  );
});

test('a bounded rebuild lookback that covers the fill reconciliation is accepted', () => {
  const options = resolveExecutionOptions({ rebuildLookbackMs: 26 * HOUR_MS });
  assert.equal(options.rebuildLookbackMs, 26 * HOUR_MS);
  assert.equal(resolveExecutionOptions().rebuildLookbackMs, EXECUTION_DEFAULTS.rebuildLookbackMs);
});
