/**
 * FileOutbox across a real process crash: a child adds and removes batches until it is
 * SIGKILLed (possibly mid-write); this process reopens the outbox. Every add the child saw
 * resolve is pending unless its removal resolved too, and every pending entry is whole.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileOutbox } from './outbox.js';
import { runTsChild } from './test-children/run-child.js';

const childScript = fileURLToPath(new URL('./test-children/outbox-writer.child.ts', import.meta.url));
/** The child's payload of message `n` (test-children/outbox-writer.child.ts). */
const payloadOf = (n: number) => `m${n};`.repeat(1 + (n % 97));

/** Runs the child until it has reported `adds` resolved adds, then SIGKILLs it. */
async function runChildUntil(dir: string, adds: number): Promise<{ stdout: string }> {
  const run = await runTsChild(childScript, [dir], {
    timeoutMs: 60_000,
    onStdout: (stdout, child) => {
      if (stdout.split('ADDED').length - 1 >= adds) child.kill('SIGKILL');
    },
  });
  if (run.signal !== 'SIGKILL') throw new Error(`child exited without SIGKILL: ${run.stderr}`);
  return run;
}

describe('FileOutbox across a process crash', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perpmesh-outbox-crash-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const round of [1, 2, 3]) {
    test(`SIGKILL mid-stream (round ${round}): resolved adds are pending unless removed, entries whole`, async () => {
      const outboxDir = join(dir, `round-${round}`);
      const { stdout } = await runChildUntil(outboxDir, 150 * round);
      const added = new Set<string>();
      const removed = new Set<string>();
      // Only complete lines: a line cut by the kill reports nothing.
      for (const line of stdout.split('\n').slice(0, -1)) {
        const [kind, ...rest] = line.split(' ');
        if (kind === 'ADDED') {
          const [first, count] = rest.map(Number) as [number, number];
          // The child removes the batches that start at an even number; a removal that was in
          // flight at the kill may or may not have landed, so only the others must be pending.
          if (first % 2 !== 0) for (let n = first; n < first + count; n++) added.add(`m${n}`);
        } else if (kind === 'REMOVED') {
          for (const id of rest) removed.add(id);
        }
      }
      assert.ok(added.size > 0 && removed.size > 0, 'the child added and removed before it was killed');

      const outbox = await FileOutbox.open(outboxDir);
      try {
        const pending = await outbox.pending();
        const pendingIds = new Set(pending.map((e) => e.id));
        for (const id of added) assert.ok(pendingIds.has(id), `${id} was added and never removed: pending`);
        for (const id of removed) assert.ok(!pendingIds.has(id), `${id} was removed: not pending`);
        for (const e of pending) {
          const n = Number(e.id.slice(1));
          assert.equal(new TextDecoder().decode(e.data), payloadOf(n), `${e.id}'s data is whole`);
          assert.deepEqual(e.headers, n % 5 === 0 ? { 'x-n': String(n) } : undefined);
          assert.equal(e.subject, 'exec.order.paper.main');
        }
      } finally {
        await outbox.close();
      }
    });
  }
});
