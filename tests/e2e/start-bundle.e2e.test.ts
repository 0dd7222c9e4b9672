/**
 * The start bundle `make run` starts from (scripts/bundle.mjs) as a real process: bundled
 * from the compiled output (`make test` builds first) into a temp dir, it reaches ready, the
 * dashboard's own files and the vendored uPlot are served (paths next to their modules),
 * the strategy decides, and the source maps lead to the TypeScript sources. Then make run's
 * starter (scripts/start.mjs) runs the current build's bundle in its own process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, type PerpmeshProcess, startPerpmeshProcess } from '@perpmesh/testing';
import { currentBuildKey, ROOT } from '../../scripts/build-stamp.mjs';
import { bundleIsCurrent, writeStartBundle } from '../../scripts/bundle.mjs';

describe('the start bundle (make run)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-bundle-'));
  const out = join(dir, 'bundle');
  let running: PerpmeshProcess | undefined;
  before(async () => {
    await writeStartBundle(out);
  });
  after(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a few files, source maps to the TypeScript sources', () => {
    const files = readdirSync(out);
    assert.ok(files.includes('perpmesh.mjs'));
    const modules = files.filter((f) => f.endsWith('.mjs'));
    assert.ok(modules.length < 100, `${modules.length} files, not ~800 modules`);
    const sources = modules.flatMap(
      (f) => (JSON.parse(readFileSync(join(out, `${f}.map`), 'utf8')) as { sources: string[] }).sources,
    );
    for (const file of ['libs/cli/src/start.ts', 'libs/strategy/src/runtime/runner.ts']) {
      assert.ok(
        sources.some((s) => s.endsWith(file)),
        `a source map names ${file}`,
      );
    }
  });

  test('starts, serves the dashboard, decides', async () => {
    running = await startPerpmeshProcess({
      dataDir: join(dir, 'data'),
      command: ['--enable-source-maps', join(out, 'perpmesh.mjs'), 'start'],
    });
    const base = `http://127.0.0.1:${running.httpPort}`;
    const readyz = (await (await fetch(`${base}/readyz`)).json()) as { ready: boolean };
    assert.equal(readyz.ready, true);
    for (const path of ['/', '/vendor/uplot.esm.js']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, `GET ${path}`);
      assert.ok((await res.text()).length > 0, `GET ${path} has a body`);
    }
    await eventually(
      'a decision on /api/decisions',
      async () => {
        const body = (await (await fetch(`${base}/api/decisions?limit=1`)).json()) as {
          decisions: unknown[];
        };
        return body.decisions.length > 0 ? true : undefined;
      },
      30_000,
    );
    assert.equal(await running.stop(), 0, 'a clean stop');
  });

  test("make run's starter runs the current build's bundle in its own process", async (t) => {
    if (!bundleIsCurrent(currentBuildKey())) {
      t.skip('the build is not current or has no bundle yet (make build)');
      return;
    }
    const starter = await startPerpmeshProcess({
      dataDir: join(dir, 'data-starter'),
      command: [join(ROOT, 'scripts/start.mjs')],
      // Whatever the caller's environment says: the default way.
      env: { PERPMESH_START: 'auto', PERPMESH_BUNDLE: '' },
    });
    try {
      const pid = starter.child.pid!;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      assert.equal(children, '', 'no child process: the system runs in the starter');
    } finally {
      assert.equal(await starter.stop(), 0, 'a clean stop');
    }
  });
});
