/**
 * The chaos runs of `make test` take turns: each starts a whole distributed system (its own
 * nats-server, redis-server and six service processes), and three at once on a loaded 2-core
 * machine pushed recoveries past their bound and a start past its deadline. The turn is the
 * data-dir lock of @perpmesh/bus (a LOCK file with its holder's pid; a dead holder's is
 * taken over) on a directory per checkout, waited for while another run holds it.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, lockDir } from '@perpmesh/bus';
import { sleep } from '@perpmesh/core';
import { REPO_ROOT } from '../e2e/harness.js';

const TURN_DIR = join(
  tmpdir(),
  `perpmesh-chaos-turn-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`,
);

/**
 * Waits for this checkout's chaos turn, runs `fn`, gives the turn back (also when `fn`
 * throws). `dir`: the lock's directory (a test's own).
 */
export async function inChaosTurn<T>(fn: () => Promise<T>, dir = TURN_DIR): Promise<T> {
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockDir(dir);
      break;
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}
