import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  childPids,
  cpuMs,
  ioSyscalls,
  parseSmapsRollup,
  quantile,
  rssBytes,
  slope,
  smapsRollup,
  threadCount,
} from './proc-stats.js';

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

  test('smaps_rollup is read in bytes; a text missing a field is undefined', () => {
    const text = [
      '557f90be8000-7ffdd8607000 ---p 00000000 00:00 0                          [rollup]',
      'Rss:                1736 kB',
      'Pss:                 204 kB',
      'Private_Dirty:       108 kB',
      'Anonymous:            96 kB',
      'AnonHugePages:         0 kB',
    ].join('\n');
    assert.deepEqual(parseSmapsRollup(text), {
      rss: 1736 * 1024,
      anonymous: 96 * 1024,
      privateDirty: 108 * 1024,
    });
    // AnonHugePages must not be taken for Anonymous.
    assert.equal(parseSmapsRollup(text.replace('Anonymous:', 'Other:')), undefined);
  });

  test('this process has a resident size and CPU time in /proc', {
    skip: process.platform !== 'linux',
  }, () => {
    assert.ok((rssBytes(process.pid) ?? 0) > 1_000_000);
    assert.ok((cpuMs(process.pid) ?? -1) >= 0);
    assert.equal(rssBytes(2 ** 22 + 12345), undefined);
    const smaps = smapsRollup(process.pid);
    assert.ok(smaps && smaps.anonymous > 0 && smaps.anonymous <= smaps.rss);
    assert.ok((threadCount(process.pid) ?? 0) >= 1);
    assert.deepEqual(childPids(2 ** 22 + 12345), []);
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
