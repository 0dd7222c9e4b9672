/**
 * On JetStream: a consumer process SIGKILLed after its projector saved state + seq but
 * before the ack; the restarted consumer gets the event again and applies it once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NatsEventLog, runProjector } from '@perpmesh/bus';
import { FileProjectionStore } from './eventlog.file-projection-store.js';
import { eventually } from './eventually.js';
import { natsUrlForTests, stopTestServers, uniqueTestName } from './servers.js';

const childScript = fileURLToPath(new URL('./eventlog.crash-child.ts', import.meta.url));

describe('NatsEventLog: a consumer killed between save and ack', () => {
  let dir: string;
  let log: NatsEventLog;
  const stream = uniqueTestName('CRASH');
  const subject = `${stream}.totals`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perpmesh-nats-crash-'));
    log = await NatsEventLog.connect({ servers: await natsUrlForTests() });
    await log.ensureStreams([{ name: stream, subjects: [`${stream}.>`], maxAgeMs: 3_600_000 }]);
  });
  after(async () => {
    await log.deleteStream(stream).catch(() => {});
    await log.close();
    await rm(dir, { recursive: true, force: true });
    await stopTestServers();
  });

  test('the restarted consumer skips the event the dead one already applied', async () => {
    const stateFile = join(dir, 'projection.json');
    await log.publish({ subject, id: `${stream}-1`, data: new TextEncoder().encode('5') });

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@perpmesh/source',
        childScript,
        await natsUrlForTests(),
        stream,
        stateFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    let saved: string;
    try {
      saved = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child never saved (stderr: ${stderr})`)), 30_000);
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const line = out.split('\n').find((l) => l.startsWith('SAVED '));
          if (line) {
            clearTimeout(timer);
            resolve(line);
          }
        });
        child.on('exit', () => reject(new Error(`child exited early (stderr: ${stderr})`)));
      });
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL');
    assert.equal(saved, `SAVED ${JSON.stringify({ [stream]: 1 })}`);

    const store = new FileProjectionStore(stateFile);
    assert.deepEqual((await store.loadProjection('totals'))?.state, { total: 5 });
    let applyCalls = 0;
    const projector = await runProjector<{ total: number }>({
      log,
      store,
      name: 'totals',
      consume: { stream, durable: 'totals', ackWaitMs: 1_000 },
      initialState: () => ({ total: 0 }),
      apply: (s, m) => {
        applyCalls++;
        return { total: s.total + Number(new TextDecoder().decode(m.data)) };
      },
    });
    await eventually('the redelivery (after ackWait)', () => projector.stats().skipped === 1);
    await log.publish({ subject, id: `${stream}-2`, data: new TextEncoder().encode('7') });
    await eventually('the next event', () => projector.stats().applied === 1);
    await projector.stop();

    assert.equal(applyCalls, 1, 'the redelivered event was not applied again');
    assert.deepEqual(await store.loadProjection('totals'), {
      state: { total: 12 },
      applied: { [stream]: 2 },
    });
  });
});
