/** runService in a real child process: real SIGTERM/SIGINT, real exit codes. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, test } from 'node:test';

const MAIN = new URL('./fixtures/tiny-service.ts', import.meta.url).pathname;

function startTiny(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@perpmesh/source', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  const waiters: Array<{ msg: string; resolve: () => void }> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let at = buffered.indexOf('\n');
    while (at >= 0) {
      const line = JSON.parse(buffered.slice(0, at)) as Record<string, unknown>;
      buffered = buffered.slice(at + 1);
      lines.push(line);
      for (const w of waiters.filter((w) => w.msg === line.msg)) w.resolve();
      at = buffered.indexOf('\n');
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (msg: string) =>
    lines.some((l) => l.msg === msg)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ msg, resolve }));
  return { child, lines, exited, waitFor };
}

async function readyz(lines: Array<Record<string, unknown>>): Promise<number> {
  const listening = lines.find((l) => l.msg === 'http listening (/healthz /readyz /metrics)');
  assert.ok(listening);
  return (await fetch(`http://127.0.0.1:${listening.port}/readyz`)).status;
}

function kill(child: ChildProcess, signal: NodeJS.Signals) {
  assert.ok(child.kill(signal));
}

describe('runService in a real process', () => {
  test('SIGTERM stops components in reverse order and exits 0', async () => {
    const tiny = startTiny();
    await tiny.waitFor('service running');
    assert.equal(await readyz(tiny.lines), 200);
    kill(tiny.child, 'SIGTERM');
    assert.equal(await tiny.exited, 0);
    const stops = tiny.lines.filter((l) => l.msg === 'component stopped').map((l) => l.component);
    assert.deepEqual(stops, ['worker', 'http']);
  });

  test('a second SIGINT while a stop hangs forces exit 130', async () => {
    const tiny = startTiny({ TINY_SERVICE_HANG_STOP: '1' });
    await tiny.waitFor('service running');
    kill(tiny.child, 'SIGINT');
    await tiny.waitFor('stopping component');
    kill(tiny.child, 'SIGINT');
    assert.equal(await tiny.exited, 130);
    assert.ok(tiny.lines.some((l) => l.msg === 'second signal, forcing exit'));
  });
});
