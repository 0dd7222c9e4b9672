/**
 * The restart with the world's young generation (young-generation.ts) as a supervisor sees it:
 * a SIGTERM sent to the process it started (the parent alone, not the group) stops the
 * restarted child too, and the parent's exit code says the child ended by SIGTERM. Without
 * the forwarding the parent dies and the child runs on, orphaned.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '@perpmesh/testing';

const CHILD = fileURLToPath(new URL('./young-generation.test-child.ts', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a SIGTERM to the restarting process stops the restarted child too', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  parent.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = once(parent, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let childPid = 0;
  try {
    await eventually(
      'the restarted child running',
      () => {
        const match = /child (\d+) (with|without) the flag/.exec(out);
        if (match === null) return false;
        childPid = Number(match[1]);
        return match[2] === 'with';
      },
      30_000,
    );
    assert.notEqual(childPid, parent.pid);
    parent.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [143, null], 'the parent exits with the child’s SIGTERM (128 + 15)');
    await eventually('the child gone', () => !alive(childPid), 10_000);
  } finally {
    if (childPid !== 0 && alive(childPid)) process.kill(childPid, 'SIGKILL');
    if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
  }
});
