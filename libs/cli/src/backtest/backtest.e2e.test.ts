/**
 * `perpmesh backtest` as a process: a minute of synthetic tape prints the summary as JSON
 * and writes the self-contained chart; a bad tape exits 2 naming the flag; the world is stepped
 * in a node with the larger young generation (libs/cli/src/young-generation.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'libs/cli/src/bin.ts');
const NODE_ARGS = ['--import', 'tsx', '--conditions=@perpmesh/source', BIN];

describe('perpmesh backtest (process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-backtest-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => runWith([], ...args);
  const runWith = (nodeArgs: string[], ...args: string[]) =>
    spawnSync(
      process.execPath,
      [...nodeArgs, ...NODE_ARGS, 'backtest', join(ROOT, 'config/perpmesh.yaml'), ...args],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, PERPMESH_CONFIG: '' },
        timeout: 120_000,
      },
    );

  test('a minute of tape: the summary as JSON and the chart', () => {
    const chart = join(dir, 'chart.html');
    const result = run('--tape', 'synthetic:3:1m', '--json', '--chart', chart);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      steps: number;
      summary: Record<string, string>;
      chart: string;
    };
    assert.equal(report.steps, 60);
    assert.equal(report.summary.startEquity, '300000');
    assert.equal(report.chart, chart);
    assert.ok(existsSync(chart));
    assert.match(readFileSync(chart, 'utf8'), /new uPlot\(/);
  });

  test('a bad tape exits 2 naming the flag', () => {
    const result = run('--tape', 'synthetic:seven:1h');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /perpmesh backtest: .*--tape seed/);
  });

  test('the backtest runs in a node started with the semi-space flag', () => {
    // A preload every node of the run inherits: each reports its flags as it exits.
    const probe = join(dir, 'probe.mjs');
    writeFileSync(
      probe,
      "process.on('exit', () => process.stderr.write('probe ' + JSON.stringify(process.execArgv) + '\\n'));\n",
    );
    const result = runWith(
      ['--import', probe],
      '--tape',
      'synthetic:3:1m',
      '--json',
      '--chart',
      join(dir, 'c.html'),
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { steps: number }).steps, 60);
    const flags = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('probe '))
      .map((line) => JSON.parse(line.slice('probe '.length)) as string[]);
    // The child (it exits first) with the flag, the process the user started without it.
    assert.equal(flags.length, 2, result.stderr);
    assert.ok(flags[0]?.includes('--max-semi-space-size=32'), JSON.stringify(flags));
    assert.ok(!flags[1]?.some((f) => f.startsWith('--max-semi-space-size')), JSON.stringify(flags));
  });
});
