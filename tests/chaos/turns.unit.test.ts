import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sleep } from '@perpmesh/core';
import { inChaosTurn } from './turns.js';

const dir = mkdtempSync(join(tmpdir(), 'chaos-turns-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A turn dir whose LOCK names `pid`. */
function heldBy(name: string, pid: number): string {
  const turn = join(dir, name);
  mkdirSync(turn);
  writeFileSync(join(turn, 'LOCK'), String(pid));
  return turn;
}

describe('inChaosTurn', () => {
  it('waits while another live process holds the turn, runs once it is gone, gives it back', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const turn = heldBy('turn-live', holder.pid as number);
    let ranAt = 0;
    const waiting = inChaosTurn(async () => {
      ranAt = Date.now();
      return 'ran';
    }, turn);
    // Long enough for a few tries of the lock (every 500 ms): none may get in.
    await sleep(1_200);
    assert.equal(ranAt, 0, 'ran while another process held the turn');
    const releasedAt = Date.now();
    holder.kill('SIGKILL');
    assert.equal(await waiting, 'ran');
    assert.ok(ranAt >= releasedAt);
    assert.equal(existsSync(join(turn, 'LOCK')), false);
  });

  it('gives the turn back when the run throws', async () => {
    const turn = join(dir, 'turn-throw');
    await assert.rejects(
      inChaosTurn(async () => {
        throw new Error('run failed');
      }, turn),
      /run failed/,
    );
    assert.equal(existsSync(join(turn, 'LOCK')), false);
  });

  it('overtakes a holder that died', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const turn = heldBy('turn-dead', Number(dead.stdout.toString('utf8')));
    assert.equal(await inChaosTurn(async () => 'ran', turn), 'ran');
  });
});
