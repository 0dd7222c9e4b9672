import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WORLD_SEMI_SPACE_FLAG, youngGenerationRestartArgs } from './young-generation.js';

describe('youngGenerationRestartArgs', () => {
  test('without a semi-space size: node flags, then ours, then the script and its arguments', () => {
    assert.deepEqual(
      youngGenerationRestartArgs(['--import', 'tsx'], ['/x/bin.js', 'backtest', 'c.yaml'], undefined),
      ['--import', 'tsx', WORLD_SEMI_SPACE_FLAG, '/x/bin.js', 'backtest', 'c.yaml'],
    );
    assert.equal(WORLD_SEMI_SPACE_FLAG, '--max-semi-space-size=32');
  });

  test('already started with a semi-space size (ours or the user’s): no restart', () => {
    assert.equal(youngGenerationRestartArgs([WORLD_SEMI_SPACE_FLAG], ['/x/bin.js'], undefined), undefined);
    assert.equal(
      youngGenerationRestartArgs(['--max-semi-space-size=8'], ['/x/bin.js'], undefined),
      undefined,
    );
    assert.equal(
      youngGenerationRestartArgs(['--max_semi_space_size', '64'], ['/x/bin.js'], undefined),
      undefined,
    );
  });

  test('a semi-space size in NODE_OPTIONS: no restart; other NODE_OPTIONS: restart', () => {
    assert.equal(
      youngGenerationRestartArgs([], ['/x/bin.js'], '--max-semi-space-size=64 --enable-source-maps'),
      undefined,
    );
    assert.deepEqual(youngGenerationRestartArgs([], ['/x/bin.js'], '--enable-source-maps'), [
      WORLD_SEMI_SPACE_FLAG,
      '/x/bin.js',
    ]);
  });

  test('a flag that only looks alike is not a semi-space size', () => {
    assert.deepEqual(youngGenerationRestartArgs(['--max-semi-space-sizes=1'], ['/x/bin.js'], undefined), [
      '--max-semi-space-sizes=1',
      WORLD_SEMI_SPACE_FLAG,
      '/x/bin.js',
    ]);
  });
});
