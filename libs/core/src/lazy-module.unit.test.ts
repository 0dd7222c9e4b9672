import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lazyModule } from './lazy-module.js';

describe('lazyModule', () => {
  test('get() before load() throws naming the module; after it, the module', async () => {
    const lazy = lazyModule('the thing', async () => ({ answer: 42 }));
    assert.throws(() => lazy.get(), /the thing is not loaded yet/);
    const loaded = await lazy.load();
    assert.equal(lazy.get(), loaded);
    assert.equal(lazy.get().answer, 42);
  });

  test('imports once, also for concurrent loads', async () => {
    let imports = 0;
    const lazy = lazyModule('counted', async () => ({ n: ++imports }));
    const [a, b] = await Promise.all([lazy.load(), lazy.load()]);
    await lazy.load();
    assert.equal(imports, 1);
    assert.equal(a, b);
  });

  test('a failed import is retried by the next load()', async () => {
    let attempts = 0;
    const lazy = lazyModule('flaky', async () => {
      attempts++;
      if (attempts === 1) throw new Error('not there');
      return { ok: true };
    });
    await assert.rejects(lazy.load(), /not there/);
    assert.throws(() => lazy.get(), /flaky is not loaded yet/);
    assert.deepEqual(await lazy.load(), { ok: true });
  });
});
