/** The harness's own checks: a clean stop is a stop the test asked for, answered with exit 0. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServiceProcess } from './harness.js';

const CHILD = new URL('./harness-child.ts', import.meta.url).pathname;

function child(mode: string): ServiceProcess {
  return new ServiceProcess({
    service: 'paper-venue',
    label: `child-${mode}`,
    configPath: '/nonexistent',
    httpPort: 0,
    entry: CHILD,
    env: { PERPMESH_HARNESS_CHILD: mode },
  });
}

describe('ServiceProcess.stop', () => {
  test('fails for a service that had already crashed with a non-zero exit', async () => {
    const p = child('exit-3').start();
    assert.deepEqual(await p.exited, { code: 3, signal: null });
    await assert.rejects(
      p.stop(),
      /child-exit-3 had already exited with \{"code":3,"signal":null\} before stop/,
    );
  });

  test('fails for a service that had already died by a signal', async () => {
    const p = child('self-kill').start();
    assert.deepEqual(await p.exited, { code: null, signal: 'SIGKILL' });
    await assert.rejects(p.stop(), /had already exited with \{"code":null,"signal":"SIGKILL"\}/);
  });

  test('passes for a running service that exits 0 on SIGTERM, also when asked twice', async () => {
    const p = child('clean').start();
    await p.waitForLog('that it runs', (l) => l.msg === 'child running');
    await p.stop();
    assert.deepEqual(await p.exited, { code: 0, signal: null });
    await p.stop();
  });

  test('fails for a service that exits non-zero on SIGTERM', async () => {
    const p = child('dirty').start();
    await p.waitForLog('that it runs', (l) => l.msg === 'child running');
    await assert.rejects(p.stop(), /exited with \{"code":1,"signal":null\} after SIGTERM, not 0/);
  });

  test('a crash the test expected and acknowledged with kill9 does not fail a later stop', async () => {
    const p = child('exit-3').start();
    await p.exited;
    await p.kill9();
    await p.stop();
  });
});
