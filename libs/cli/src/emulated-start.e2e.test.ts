/**
 * `PERPMESH_CONFIG=config/emulated.yaml perpmesh start` as a real process: its `emulators`
 * section starts the local venue emulators in process, and the emulated Binance USD-M and
 * Hyperliquid venues become ready through the real ccxt code path, with no credential in
 * the config or the test's environment.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, type PerpmeshProcess, startPerpmeshProcess } from '@perpmesh/testing';

const EMULATED_YAML = resolve(fileURLToPath(import.meta.url), '../../../../config/emulated.yaml');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

interface VenuesView {
  venues: {
    venue: string;
    ready: boolean;
    components: { service: string; name: string; ready: boolean }[];
  }[];
}

describe('perpmesh start with config/emulated.yaml (real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perpmesh-emulated-'));
  let running: PerpmeshProcess | undefined;
  after(() => {
    if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts the emulators with the system; both emulated venues report ready components', async () => {
    const [binancePort, hyperliquidPort] = [await freePort(), await freePort()];
    // The shipped file, on free ports (the emulators' and the venues' URLs move together).
    const yaml = readFileSync(EMULATED_YAML, 'utf8')
      .replaceAll('127.0.0.1:4100', `127.0.0.1:${binancePort}`)
      .replaceAll('127.0.0.1:4200', `127.0.0.1:${hyperliquidPort}`)
      .replace('binanceusdm: { port: 4100 }', `binanceusdm: { port: ${binancePort} }`)
      .replace('hyperliquid: { port: 4200 }', `hyperliquid: { port: ${hyperliquidPort} }`);
    assert.ok(yaml.includes('start: true'), 'config/emulated.yaml starts the emulators');
    assert.ok(!yaml.includes(':4100') && !yaml.includes(':4200'), 'every emulator port moved');
    const config = join(dir, 'emulated.yaml');
    writeFileSync(config, yaml);
    const env: Record<string, string> = { PERPMESH_CONFIG: config };
    // The credentials come from the emulators component, not from this environment.
    for (const name of [
      'BINANCE_EMULATOR_API_KEY',
      'BINANCE_EMULATOR_SECRET',
      'HYPERLIQUID_EMULATOR_PRIVATE_KEY',
    ]) {
      assert.equal(process.env[name], undefined, `${name} is not set by the test runner`);
    }
    running = await startPerpmeshProcess({ dataDir: join(dir, 'data'), env });

    const view = await eventually(
      'both emulated venues ready',
      async () => {
        const res = await fetch(`http://127.0.0.1:${running!.httpPort}/api/venues`);
        const body = (await res.json()) as VenuesView;
        const byId = new Map(body.venues.map((v) => [v.venue, v]));
        const wanted = ['binanceusdm', 'hyperliquid'].map((id) => byId.get(id));
        return wanted.every((v) => v?.ready && v.components.length > 0) ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const id of ['binanceusdm', 'hyperliquid']) {
      const venue = view.venues.find((v) => v.venue === id)!;
      const names = venue.components.map((c) => `${c.service}:${c.name}`);
      for (const n of ['market-data:order_books', 'account:main/balances']) {
        assert.ok(names.includes(n), `${id} reports ${n} (has ${names.join(', ')})`);
      }
      assert.ok(
        venue.components.every((c) => c.ready),
        `${id}: every component ready`,
      );
    }
    assert.equal(await running.stop(), 0, `clean exit; stderr:\n${running.stderr()}`);
  });
});
