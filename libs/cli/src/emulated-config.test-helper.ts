/**
 * The shipped config/emulated.yaml, moved to free ports (the emulators' and the venues'
 * URLs move together) and written to `dir`, for tests that run `perpmesh start` with it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const EMULATED_YAML = resolve(fileURLToPath(import.meta.url), '../../../../config/emulated.yaml');

/** The test credentials the emulators component hands the venues (never the test runner's). */
export const EMULATOR_CREDENTIAL_VARIABLES = [
  'BINANCE_EMULATOR_API_KEY',
  'BINANCE_EMULATOR_SECRET',
  'HYPERLIQUID_EMULATOR_PRIVATE_KEY',
];

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

/** Writes the emulated config on free ports into `dir`; answers its path. */
export async function writeEmulatedConfig(dir: string): Promise<string> {
  const [binancePort, hyperliquidPort] = [await freePort(), await freePort()];
  const yaml = readFileSync(EMULATED_YAML, 'utf8')
    .replaceAll('127.0.0.1:4100', `127.0.0.1:${binancePort}`)
    .replaceAll('127.0.0.1:4200', `127.0.0.1:${hyperliquidPort}`)
    .replace('binanceusdm: { port: 4100 }', `binanceusdm: { port: ${binancePort} }`)
    .replace('hyperliquid: { port: 4200 }', `hyperliquid: { port: ${hyperliquidPort} }`);
  assert.ok(yaml.includes('start: true'), 'config/emulated.yaml starts the emulators');
  assert.ok(!yaml.includes(':4100') && !yaml.includes(':4200'), 'every emulator port moved');
  const config = join(dir, 'emulated.yaml');
  writeFileSync(config, yaml);
  return config;
}
