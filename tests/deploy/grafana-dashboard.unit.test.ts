/**
 * deploy/grafana/perpmesh.json: valid JSON, every panel queries the Prometheus datasource
 * variable, and every perpmesh_* metric a query names exists: a Node default of
 * createMetrics, or a name registered in the services' sources.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMetrics } from '@perpmesh/runtime';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: Array<{ expr: string }>;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.includes('.test')) out.push(readFileSync(path, 'utf8'));
  }
  return out;
}

test('the Grafana dashboard queries only metrics perpmesh exposes', async () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/perpmesh.json'), 'utf8')) as {
    panels: Panel[];
  };
  assert.ok(dashboard.panels.length > 0);
  const defaults = await createMetrics('dashboard-test').registry.metrics();
  const code = [...sources(join(ROOT, 'libs')), ...sources(join(ROOT, 'services'))].join('\n');
  const missing: string[] = [];
  for (const panel of dashboard.panels) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
    assert.equal(panel.datasource.uid, '${datasource}', panel.title);
    assert.ok(panel.targets.length > 0, panel.title);
    for (const { expr } of panel.targets) {
      for (const [name] of expr.matchAll(/perpmesh_[a-z0-9_]+/g)) {
        const metric = name.replace(/_(bucket|sum|count)$/, '');
        if (!defaults.includes(`# TYPE ${metric} `) && !code.includes(`'${metric}'`)) {
          missing.push(`${panel.title}: ${metric}`);
        }
      }
    }
  }
  assert.deepEqual(missing, []);
});
