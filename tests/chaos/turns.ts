/**
 * The chaos runs of `make test` take turns: each starts a whole distributed system (its own
 * nats-server, redis-server and six service processes), and three at once on a loaded 2-core
 * machine pushed recoveries past their bound and a start past its deadline. A lock file per
 * checkout (its holder's pid inside) is taken before a run and given back after it; a holder
 * that died is overtaken.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@perpmesh/core';
import { REPO_ROOT } from '../e2e/harness.js';

const TURN_FILE = join(
  tmpdir(),
  `perpmesh-chaos-turn-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}`,
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the turn file; undefined when there is none (yet). */
function holderPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim() || 'NaN');
    return Number.isSafeInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits for this checkout's chaos turn, runs `fn`, gives the turn back (also when `fn`
 * throws). `file`: the lock (a test's own).
 */
export async function inChaosTurn<T>(fn: () => Promise<T>, file = TURN_FILE): Promise<T> {
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died is overtaken (a file still being written is waited for).
      const holder = holderPid(file);
      if (holder !== undefined && !alive(holder) && holderPid(file) === holder) rmSync(file, { force: true });
      else await sleep(500);
    }
  }
  const giveBack = () => {
    if (holderPid(file) === process.pid) rmSync(file, { force: true });
  };
  process.once('exit', giveBack);
  try {
    return await fn();
  } finally {
    process.off('exit', giveBack);
    giveBack();
  }
}
