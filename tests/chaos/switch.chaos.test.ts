/**
 * The suite can fail: with the test switch CHAOS_BREAK=resend (execution resends an order
 * after the venue's ack, the "resend on timeout" bug) a chaos run through the `make chaos`
 * entry point reports the breach, names the seed that reproduces it, and exits 1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../e2e/harness.js';
import { inChaosTurn } from './turns.js';

const SEED = 424242;

test('CHAOS_BREAK=resend: the run reports a duplicate venue order with its seed and exits 1', async () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('CHAOS_')) env[k] = v;
  Object.assign(env, {
    CHAOS_SEED: String(SEED),
    CHAOS_DURATION: '6',
    CHAOS_FAULTS: '0',
    CHAOS_STRATEGY: '0',
    CHAOS_LOAD_CLIENTS: '1',
    CHAOS_BREAK: 'resend',
  });
  // One chaos run of the tier at a time (turns.ts): the child's run is this test's turn.
  const { code, stdout, stderr } = await inChaosTurn(() => runEntry(env));
  const seen = `exit ${String(code)}\nstdout:\n${stdout}\nstderr (tail):\n${stderr.slice(-3000)}`;
  assert.equal(code, 1, seen);
  assert.match(stdout, /\| one venue order per client order id \| BREACHED/, seen);
  assert.match(
    stdout,
    /one venue order per client order id: paper\/load\/load\d+-0-\d+ is 2 venue orders/,
    seen,
  );
  assert.match(stdout, new RegExp(`reproduce with CHAOS_SEED=${SEED}`), seen);
});

/** The `make chaos` entry point as a child process with `env`: its exit code and output. */
async function runEntry(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--conditions=@perpmesh/source',
      fileURLToPath(new URL('./main.ts', import.meta.url)),
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString('utf8');
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}
