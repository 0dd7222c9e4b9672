/**
 * Every config file the project ships (config/*.yaml) parses with the schema `perpmesh start`
 * uses (and its strategy instances by their kinds), with its `{ env: NAME }` credentials given placeholder values: a shipped example
 * that fails at start is a defect a newcomer meets first.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { executionOptionsOf } from '@perpmesh/execution';
import { loadConfig } from '@perpmesh/runtime';
import { parseStrategyInstances } from '@perpmesh/strategy/runtime';
import { paperHubOptionsFromConfig } from '@perpmesh/venues';
import { embeddedConfigSchema } from './embedded.js';

const CONFIG_DIR = resolve(fileURLToPath(import.meta.url), '../../../../config');

/** The shipped config files, each loaded with placeholders in its credentials' own shape. */
function shippedConfigs() {
  const files = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.yaml'));
  return files.map((file) => {
    const path = join(CONFIG_DIR, file);
    const env: Record<string, string> = {};
    // Hex keys where the schema wants one.
    for (const [, name] of readFileSync(path, 'utf8').matchAll(/\{ env: ([A-Z0-9_]+) \}/g)) {
      env[name!] = /PRIVATE_KEY$/.test(name!)
        ? `0x${'1'.repeat(/LIGHTER/.test(name!) ? 80 : 64)}`
        : 'placeholder';
    }
    return { file, config: loadConfig(embeddedConfigSchema, { path, env }).config };
  });
}

test('every shipped config file parses, credentials from the environment', () => {
  const configs = shippedConfigs();
  assert.ok(configs.length >= 4, `config files: ${configs.map((c) => c.file).join(', ')}`);
  for (const { config } of configs) {
    // The strategy instances are parsed by their kinds when the strategy service is built.
    parseStrategyInstances(config.strategy.instances);
  }
});

test('every shipped embedded config bounds the idempotency claims the embedded store keeps in memory to a day', () => {
  // The embedded store holds every claim in the process for its TTL (~270 bytes an order):
  // at the 7-day default, ~330 MB after a week at 2 orders/s (docs/performance.md, soak).
  const configs = shippedConfigs();
  assert.ok(configs.some((c) => c.file === 'perpmesh.yaml'));
  for (const { file, config } of configs) {
    if (config.mode !== 'embedded') continue;
    assert.ok(
      config.execution.idempotencyTtl <= 24 * 3_600_000,
      `${file}: execution.idempotencyTtl is ${config.execution.idempotencyTtl} ms`,
    );
  }
});

test("make run's config bounds its per-order histories so they are full within minutes", () => {
  // Bounded histories that take an hour to fill make the process grow for that hour
  // (docs/performance.md, "Soak, session 7"): execution's finished orders and the paper
  // venues' closed orders are bounded to what is asked of them.
  const { config } = loadConfig(embeddedConfigSchema, { path: join(CONFIG_DIR, 'perpmesh.yaml'), env: {} });
  const options = executionOptionsOf(config.execution);
  assert.ok(
    options.maxTerminalOrders <= 1_000,
    `execution.maxTerminalOrders is ${options.maxTerminalOrders}`,
  );
  const hub = paperHubOptionsFromConfig({ venues: config.venues, paper: config.paper });
  assert.ok(
    hub.fillHistoryLimit !== undefined && hub.fillHistoryLimit <= 1_000,
    `paper.fillHistoryLimit ${hub.fillHistoryLimit}`,
  );
  assert.ok((hub.venues ?? []).length >= 3, 'the three paper venues');
  for (const venue of hub.venues ?? []) {
    const retention = venue.overrides?.closedOrderRetention;
    assert.ok(
      retention !== undefined && retention <= 1_000,
      `${venue.venueId}: closedOrderRetention ${retention}`,
    );
  }
});
