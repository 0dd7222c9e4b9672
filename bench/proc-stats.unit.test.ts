import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, test } from 'node:test';
import { cpuMs, ioSyscalls, quantile, rssBytes, slope } from './proc-stats.js';

describe('bench proc stats', () => {
  test('slope is the least-squares gradient', () => {
    assert.equal(
      slope([
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 5 },
      ]),
      2,
    );
    // Noise around a flat line has no slope.
    assert.equal(
      slope([
        { x: 0, y: 10 },
        { x: 1, y: 12 },
        { x: 2, y: 10 },
        { x: 3, y: 12 },
        { x: 4, y: 10 },
        { x: 5, y: 12 },
        { x: 6, y: 10 },
      ]),
      0,
    );
    assert.equal(slope([{ x: 1, y: 5 }]), 0);
    assert.equal(
      slope([
        { x: 1, y: 5 },
        { x: 1, y: 7 },
      ]),
      0,
    );
  });

  test('quantile picks the nearest rank below', () => {
    assert.equal(quantile([5, 1, 4, 2, 3], 0.5), 3);
    assert.equal(quantile([5, 1, 4, 2, 3], 0.99), 5);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  test('this process has a resident size and CPU time in /proc', {
    skip: process.platform !== 'linux',
  }, () => {
    assert.ok((rssBytes(process.pid) ?? 0) > 1_000_000);
    assert.ok((cpuMs(process.pid) ?? -1) >= 0);
    assert.equal(rssBytes(2 ** 22 + 12345), undefined);
  });

  test("this process's write system calls count up with a write", {
    skip: process.platform !== 'linux',
  }, () => {
    const before = ioSyscalls(process.pid);
    assert.ok(before !== undefined && before.reads >= 0);
    const devNull = openSync('/dev/null', 'w');
    writeSync(devNull, 'x');
    closeSync(devNull);
    const after = ioSyscalls(process.pid);
    assert.ok(after !== undefined && after.writes >= before.writes + 1, JSON.stringify({ before, after }));
    assert.equal(ioSyscalls(2 ** 22 + 12345), undefined);
    assert.equal(ioSyscalls(undefined), undefined);
  });
});
