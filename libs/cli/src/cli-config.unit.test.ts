import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { resolveCliTargets } from './cli-config.js';

describe('CLI targets: token and TLS from the config file', () => {
  test('the tls section reaches the CLI (its clients use TLS with it); hosts default to loopback', () => {
    const dir = mkdtempSync(join(tmpdir(), 'perpmesh-cli-config-'));
    try {
      const path = join(dir, 'perpmesh.yaml');
      writeFileSync(path, 'tls:\n  caFile: /etc/perpmesh/ca.crt\nauth:\n  token: { env: CLI_TEST_TOKEN }\n');
      const targets = resolveCliTargets({ config: path }, { CLI_TEST_TOKEN: 'cli-test-token' });
      assert.equal(targets.tls?.caFile, '/etc/perpmesh/ca.crt');
      assert.equal(targets.token?.reveal(), 'cli-test-token');
      assert.equal(targets.address('execution'), '127.0.0.1:50051');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
