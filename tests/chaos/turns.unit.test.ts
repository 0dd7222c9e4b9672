import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sleep } from '@perpmesh/core';
import { inChaosTurn } from './turns.js';

const dir = mkdtempSync(join(tmpdir(), 'chaos-turns-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('inChaosTurn', () => {
  it('runs one holder at a time and gives the turn back, also after a throw', async () => {
    const file = join(dir, 'turn-a');
    const spans: Array<[string, 'in' | 'out']> = [];
    const run = (name: string, fail: boolean) =>
      inChaosTurn(async () => {
        spans.push([name, 'in']);
        assert.equal(readFileSync(file, 'utf8'), String(process.pid));
        await sleep(50);
        spans.push([name, 'out']);
        if (fail) throw new Error(`${name} failed`);
        return name;
      }, file);
    const results = await Promise.allSettled([run('first', true), run('second', false)]);
    assert.equal(results[0]?.status, 'rejected');
    assert.deepEqual(results[1], { status: 'fulfilled', value: 'second' });
    // Never two inside at once: every `in` is followed by its own `out`.
    for (let i = 0; i < spans.length; i += 2) {
      assert.equal(spans[i]?.[1], 'in');
      assert.deepEqual(spans[i + 1], [spans[i]?.[0], 'out']);
    }
    assert.equal(existsSync(file), false);
  });

  it('overtakes a holder that died', async () => {
    const file = join(dir, 'turn-b');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(file, dead.stdout.toString('utf8'));
    assert.equal(await inChaosTurn(async () => 'ran', file), 'ran');
  });
});
