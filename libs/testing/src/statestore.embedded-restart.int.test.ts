/**
 * The embedded store keeps its state across real process restarts, including a SIGKILL:
 * a nonce a killed process handed out is never handed out again.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EmbeddedStateStore, type NonceKey } from '@perpmesh/state';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const childScript = fileURLToPath(new URL('./statestore.embedded-child.ts', import.meta.url));
const KEY: NonceKey = { venue: 'paper-lighter', account: 'acct-1', apiKeyId: '2' };

function spawnChild(mode: 'write' | 'read' | 'spin', dataDir: string): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@perpmesh/source', childScript, mode, dataDir],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** Runs a child to its end and returns its single JSON line. */
function runChild(mode: 'write' | 'read', dataDir: string): Promise<Record<string, unknown>> {
  const child = spawnChild(mode, dataDir);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${mode} child exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as Record<string, unknown>);
    });
  });
}

describe('EmbeddedStateStore across process restarts', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pm-state-restart-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a second process finds the nonces, live claims and projection the first one left', async () => {
    const written = await runChild('write', dataDir);
    const maxNonce = BigInt(written.maxNonce as string);
    assert.equal(maxNonce, 110n, '1 + 10 + 100 nonces from 0');
    const read = await runChild('read', dataDir);
    assert.deepEqual(read, {
      nextNonce: String(maxNonce + 1n),
      idem: { live: 'order-1', short: null, updated: 'order-3', released: null },
      projection: { state: { balance: '99.25' }, applied: { ACCT: 2, EXEC: 7 } },
    });
  });

  test('SIGKILL while allocating: every nonce printed before the kill stays used', async () => {
    const child = spawnChild('spin', dataDir);
    const printed: bigint[] = [];
    let partial = '';
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.on('exit', () => reject(new Error(`spin child ended before the kill: ${stderr}`)));
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) printed.push(BigInt(line));
        if (printed.length >= 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    assert.equal(await exited, 'SIGKILL');
    const maxPrinted = [...printed].sort((x, y) => (x < y ? -1 : 1)).at(-1) as bigint;

    // The killed process left its lock file behind; a new owner takes it over.
    const store = await EmbeddedStateStore.open({ dataDir });
    try {
      assert.ok((await store.peekNonce(KEY)) > maxPrinted, 'the counter is past every value handed out');
      assert.ok((await store.allocateNonce(KEY)) > maxPrinted);
    } finally {
      await store.close();
    }
  });
});
