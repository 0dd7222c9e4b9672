/**
 * The shipped config/emulated.yaml, moved to free ports (the emulators' and the venues'
 * URLs move together) and written to `dir`, for tests that run `perpmesh start` with it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { EMULATOR_CREDENTIALS } from '@perpmesh/emulators';
import { freePort } from '@perpmesh/testing';

export const EMULATED_YAML = resolve(fileURLToPath(import.meta.url), '../../../../config/emulated.yaml');

/** The test credentials the emulators component hands the venues (never the test runner's). */
export const EMULATOR_CREDENTIAL_VARIABLES = Object.keys(EMULATOR_CREDENTIALS);

export interface EmulatedConfig {
  /** Where the config was written. */
  readonly path: string;
  readonly binancePort: number;
  readonly hyperliquidPort: number;
}

/**
 * Writes the emulated config on free ports into `dir`; `edit` may change the moved text
 * further (e.g. shorten a strategy's persistence).
 */
export async function writeEmulatedConfig(
  dir: string,
  edit: (yaml: string) => string = (yaml) => yaml,
): Promise<EmulatedConfig> {
  const [binancePort, hyperliquidPort] = [await freePort(), await freePort()];
  const yaml = readFileSync(EMULATED_YAML, 'utf8')
    .replaceAll('127.0.0.1:4100', `127.0.0.1:${binancePort}`)
    .replaceAll('127.0.0.1:4200', `127.0.0.1:${hyperliquidPort}`)
    .replace('binanceusdm: { port: 4100 }', `binanceusdm: { port: ${binancePort} }`)
    .replace('hyperliquid: { port: 4200 }', `hyperliquid: { port: ${hyperliquidPort} }`);
  assert.ok(yaml.includes('start: true'), 'config/emulated.yaml starts the emulators');
  assert.ok(!yaml.includes(':4100') && !yaml.includes(':4200'), 'every emulator port moved');
  const path = join(dir, 'emulated.yaml');
  writeFileSync(path, edit(yaml));
  return { path, binancePort, hyperliquidPort };
}

/** Collects what a CLI run writes (runCli's out/err). */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}
