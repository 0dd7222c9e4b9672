/**
 * The embedded log keeps events, de-duplication ids and consumer cursors across a real
 * process crash: a child publishes, acks some, and is SIGKILLed; this process reopens.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EmbeddedEventLog } from './embedded.js';
import type { StoredMessage } from './eventlog.js';
import { runTsChild } from './test-children/run-child.js';

const childScript = fileURLToPath(new URL('./test-children/embedded-writer.child.ts', import.meta.url));

const runChild = (dataDir: string) => runTsChild(childScript, [dataDir]);

describe('EmbeddedEventLog across a process crash', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'perpmesh-embedded-restart-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('history, dedupe ids and the durable cursor survive SIGKILL', async () => {
    const child = await runChild(dataDir);
    assert.equal(child.signal, 'SIGKILL', `child died by SIGKILL (stderr: ${child.stderr})`);
    assert.deepEqual(child.stdout.trim().split('\n'), [
      'DELIVERED 1',
      'DELIVERED 2',
      'DELIVERED 3',
      'DELIVERED 4',
    ]);

    // The dead child's LOCK is stale and taken over.
    const log = await EmbeddedEventLog.open({ dataDir });
    try {
      const history: StoredMessage[] = [];
      for await (const m of log.read({ stream: 'EXEC' })) history.push(m);
      assert.deepEqual(
        history.map((m) => [m.seq, m.id, new TextDecoder().decode(m.data)]),
        [1, 2, 3, 4, 5].map((i) => [i, `ev-${i}`, `order ${i}`]),
      );

      const again = await log.publish({
        subject: 'exec.order.paper.main',
        id: 'ev-2',
        data: new Uint8Array([1]),
      });
      assert.deepEqual(again, { stream: 'EXEC', seq: 2, duplicate: true });
      assert.equal(
        (await log.publish({ subject: 'exec.order.paper.main', id: 'ev-6', data: new Uint8Array() })).seq,
        6,
      );

      // 1-3 were acked before the crash; 4 was being handled (never acked) and comes again.
      const seen: number[] = [];
      const h = await log.consume({ stream: 'EXEC', durable: 'proj' }, async (m) => {
        seen.push(m.seq);
      });
      const deadline = Date.now() + 10_000;
      while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await h.stop();
      assert.deepEqual(seen, [4, 5, 6]);
    } finally {
      await log.close();
    }
  });
});
