import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { listenHostSchema, serviceConfigSchema } from '@perpmesh/runtime';
import { runServiceMain } from './main.js';

const schema = serviceConfigSchema('execution', { grpcHost: listenHostSchema }, { defaultHttpPort: 0 });

// A config file of its own: the shipped config/perpmesh.yaml has keys this small schema lacks.
const configFile = join(mkdtempSync(join(tmpdir(), 'perpmesh-main-test-')), 'perpmesh.yaml');
writeFileSync(configFile, 'log:\n  level: silent\n');

/** Runs `runServiceMain` with argv, capturing what it writes to stderr. */
async function run(argv: string[]): Promise<{ code: number; stderr: string; built: boolean }> {
  let stderr = '';
  let built = false;
  const write = process.stderr.write.bind(process.stderr);
  const savedToken = process.env.PERPMESH_TOKEN;
  delete process.env.PERPMESH_TOKEN;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runServiceMain({
      name: 'execution',
      schema,
      argv: ['--config', configFile, '--set', 'log.level=silent', ...argv],
      build: () => {
        built = true;
        throw new Error('the service was built: the door was open');
      },
    });
    return { code, stderr, built };
  } finally {
    process.stderr.write = write;
    if (savedToken !== undefined) process.env.PERPMESH_TOKEN = savedToken;
  }
}

describe('runServiceMain: locked doors', () => {
  test('told to listen on 0.0.0.0 without auth.token, a service refuses to start naming the setting', async () => {
    const grpc = await run(['--set', 'execution.grpcHost=0.0.0.0']);
    assert.equal(grpc.code, 2);
    assert.equal(grpc.built, false);
    assert.match(
      grpc.stderr,
      /execution\.grpcHost is "0\.0\.0\.0", beyond loopback, but no auth\.token is set/,
    );
    const http = await run(['--set', 'execution.http.host=0.0.0.0']);
    assert.equal(http.code, 2);
    assert.match(http.stderr, /execution\.http\.host/);
  });
});
