import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, PORT_RESERVATIONS_DIR, portRangeOutsideEphemeral } from './ports.js';

test('the port range lies outside the kernel ephemeral range (connections never take a handed-out port)', () => {
  assert.deepEqual(portRangeOutsideEphemeral({ low: 32_768, high: 60_999 }), { low: 10_000, high: 32_767 });
  assert.deepEqual(portRangeOutsideEphemeral({ low: 10_000, high: 40_000 }), { low: 40_001, high: 65_535 });
  // Nothing wide enough left: the kernel picks (freePort falls back).
  assert.equal(portRangeOutsideEphemeral({ low: 1_024, high: 65_000 }), undefined);
});

test('freePort: distinct, bindable ports, each reserved for this process while it runs', async () => {
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length);
  const range = portRangeOutsideEphemeral();
  for (const port of ports) {
    if (range) assert.ok(port >= range.low && port <= range.high, `${port}`);
    assert.equal(readFileSync(join(PORT_RESERVATIONS_DIR, String(port)), 'utf8'), String(process.pid));
  }
});

test("freePort: a port a live process reserved is skipped; a dead holder's reservation is taken over", async () => {
  // Ports of a small range far from the default one, so other test processes do not use them.
  const low = 64_500 + Math.floor(Math.random() * 900);
  const range = { low, high: low + 2 };
  mkdirSync(PORT_RESERVATIONS_DIR, { recursive: true });
  const file = (port: number) => join(PORT_RESERVATIONS_DIR, String(port));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid; // exited: its pid is free
  try {
    writeFileSync(file(low), String(process.ppid)); // the test runner: alive
    writeFileSync(file(low + 1), String(process.ppid));
    writeFileSync(file(low + 2), String(dead));
    assert.equal(await freePort({ range }), low + 2);
    assert.equal(readFileSync(file(low + 2), 'utf8'), String(process.pid));
    assert.equal(readFileSync(file(low), 'utf8'), String(process.ppid), 'a live reservation is left alone');
  } finally {
    for (let p = range.low; p <= range.high; p++) if (existsSync(file(p))) rmSync(file(p));
  }
});
