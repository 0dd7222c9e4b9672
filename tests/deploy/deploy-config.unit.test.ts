/**
 * The deployment config (deploy/k8s/base/perpmesh.yaml) parses for every service with the
 * environment compose gives it (base file + loopback override), so every PERPMESH__ key the
 * compose files set is a real config key and the stack would start.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gatewayConfigSchema } from '@perpmesh/gateway';
import { loadConfig } from '@perpmesh/runtime';
import { parse } from 'yaml';
import { accountConfigSchema } from '../../services/account/src/config.js';
import { executionConfigSchema } from '../../services/execution/src/config.js';
import { marketDataConfigSchema } from '../../services/market-data/src/config.js';
import { paperVenueConfigSchema } from '../../services/paper-venue/src/config.js';
import { strategyConfigSchema } from '../../services/strategy/src/config.js';

const root = new URL('../..', import.meta.url).pathname;
const configPath = join(root, 'deploy/k8s/base/perpmesh.yaml');
const schemas = {
  'paper-venue': paperVenueConfigSchema,
  'market-data': marketDataConfigSchema,
  execution: executionConfigSchema,
  account: accountConfigSchema,
  strategy: strategyConfigSchema,
  gateway: gatewayConfigSchema,
} as const;

type ComposeFile = { services: Record<string, { environment?: Record<string, string> }> };
const compose = (file: string) =>
  parse(readFileSync(join(root, file), 'utf8'), { merge: true }) as ComposeFile;

for (const [service, schema] of Object.entries(schemas)) {
  test(`${service}: the deployment config parses with the compose environment`, () => {
    const env: Record<string, string> = {
      ...compose('docker-compose.yml').services[service]?.environment,
      ...compose('deploy/compose.loopback.yml').services[service]?.environment,
      // The token file exists only in a container: take it from the environment here.
      PERPMESH_TOKEN: 'test-token',
      PERPMESH__NATS__REPLICAS: '3',
    };
    for (const [k, v] of Object.entries(env)) env[k] = v.replace(/\$\{GATEWAY_PORT:-(\d+)\}/, '$1');
    const { config } = loadConfig(schema, { path: configPath, env });
    assert.equal(config.mode, 'distributed');
    assert.equal(config.nats.replicas, 3);
    assert.equal(config.nats.url, 'nats://127.0.0.1:14222');
  });
}

test('nats.replicas defaults to 1 and must be at least 1', () => {
  const env = { PERPMESH_TOKEN: 'test-token' };
  assert.equal(loadConfig(executionConfigSchema, { path: configPath, env }).config.nats.replicas, 1);
  assert.throws(
    () =>
      loadConfig(executionConfigSchema, { path: configPath, env: { ...env, PERPMESH__NATS__REPLICAS: '0' } }),
    /nats\.replicas/,
  );
});
