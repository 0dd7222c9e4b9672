/**
 * The Kubernetes manifests (deploy/k8s): the overlays (dev, prod, prod-per-account) render with `kubectl kustomize` and
 * every object validates against the Kubernetes API schemas shipped in the npm package
 * kubernetes-models (offline: no cluster, no network), plus the deployment rules the
 * schemas cannot express (probes, non-root, R3 in prod, market-data on leases...).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '@perpmesh/runtime';
import { parseAllDocuments } from 'yaml';
import { accountConfigSchema } from '../../services/account/src/config.js';
import { executionConfigSchema } from '../../services/execution/src/config.js';

const root = new URL('../..', import.meta.url).pathname;
const k8sDir = join(root, 'deploy/k8s');

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};
type Container = {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
};
type PodTemplate = {
  spec: {
    containers: Container[];
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    terminationGracePeriodSeconds?: number;
  };
};

function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const noKubectl = kubectlAvailable() ? false : 'needs kubectl (with kustomize) on PATH to render deploy/k8s';

function render(overlay: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(k8sDir, 'overlays', overlay)], {
    encoding: 'utf8',
  });
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
}

/** The kubernetes-models class of an object's apiVersion/kind; it validates with the API's JSON schema. */
async function modelFor(obj: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = obj.apiVersion.includes('/')
    ? obj.apiVersion.split('/')
    : [undefined, obj.apiVersion];
  const module = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}`)) as Record<
    string,
    unknown
  >;
  const model = module[obj.kind];
  assert.ok(model, `kubernetes-models has no ${obj.apiVersion} ${obj.kind}`);
  return model as new (
    data: unknown,
  ) => { validate(): void };
}

async function validate(obj: K8sObject): Promise<void> {
  const Model = await modelFor(obj);
  new Model(obj).validate();
}

const workloads = (objs: K8sObject[]) =>
  objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const template = (o: K8sObject) => (o.spec as { template: PodTemplate }).template;
const perpmeshWorkloads = (objs: K8sObject[]) =>
  workloads(objs).filter((o) => !['nats', 'redis'].includes(o.metadata.name));
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

describe('deploy/k8s', { skip: noKubectl }, () => {
  for (const overlay of ['dev', 'prod', 'prod-per-account']) {
    test(`${overlay}: every rendered object validates against the Kubernetes schemas`, async () => {
      const objs = render(overlay);
      assert.ok(objs.length >= 20, `expected the whole stack, got ${objs.length} objects`);
      for (const obj of objs) {
        await assert.doesNotReject(validate(obj), `${obj.kind}/${obj.metadata.name}`);
      }
    });

    test(`${overlay}: every service has probes, resources and runs as non-root`, () => {
      const objs = render(overlay);
      const names = perpmeshWorkloads(objs)
        .map((o) => o.metadata.name)
        .sort();
      assert.deepEqual(names, ['account', 'execution', 'gateway', 'market-data', 'paper-venue', 'strategy']);
      for (const w of workloads(objs)) {
        const pod = template(w).spec;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.metadata.name}: runAsNonRoot`);
        for (const c of pod.containers) {
          assert.ok(c.readinessProbe && c.livenessProbe, `${w.metadata.name}: probes`);
          assert.ok(
            c.resources?.requests?.memory && c.resources.limits?.memory,
            `${w.metadata.name}: resources`,
          );
          assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${w.metadata.name}`);
        }
      }
      for (const w of perpmeshWorkloads(objs)) {
        const c = template(w).spec.containers[0]!;
        assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', w.metadata.name);
        assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', w.metadata.name);
      }
      // Above the strategy's cancel-on-stop budget (strategy.stopCancelTimeout, 10 s).
      const strategy = workloads(objs).find((o) => o.metadata.name === 'strategy')!;
      assert.ok((template(strategy).spec.terminationGracePeriodSeconds ?? 30) > 10);
    });
  }

  test('prod: streams R3 on a 3-node NATS, market-data replicas divide the instruments by leases', () => {
    const objs = render('prod');
    const nats = workloads(objs).find((o) => o.metadata.name === 'nats')!;
    assert.equal(nats.spec?.replicas, 3);
    for (const w of perpmeshWorkloads(objs)) {
      assert.equal(envOf(template(w).spec.containers[0]!, 'PERPMESH__NATS__REPLICAS'), '3', w.metadata.name);
    }
    const md = workloads(objs).find((o) => o.metadata.name === 'market-data')!;
    assert.equal(md.kind, 'Deployment');
    assert.ok(Number(md.spec?.replicas ?? 1) > 1);
    assert.equal(envOf(template(md).spec.containers[0]!, 'PERPMESH__MARKET_DATA__LEASES__ENABLED'), 'true');
    assert.equal(envOf(template(md).spec.containers[0]!, 'PERPMESH__MARKET_DATA__SHARD__COUNT'), undefined);
    assert.match(template(md).spec.containers[0]!.image, /^registry\.example\.com\/perpmesh:/);
  });

  test('prod: >= 2 account replicas owning accounts one by one, each advertising its pod address (the settings parse)', () => {
    const objs = render('prod');
    const account = workloads(objs).find((o) => o.metadata.name === 'account')!;
    assert.ok(Number(account.spec?.replicas ?? 1) >= 2, 'account replicas');
    assert.equal(account.metadata.namespace, 'perpmesh');
    const container = template(account).spec.containers[0]!;
    const env = container.env ?? [];
    assert.equal(envOf(container, 'PERPMESH__ACCOUNT__OWNERSHIP'), 'per_account');
    assert.equal(envOf(container, 'PERPMESH__NATS__REPLICAS'), '3', 'still prod');
    // The forwarding address: the pod IP (defined before it is used) and the gRPC port.
    const podIp = env.findIndex((e) => e.name === 'POD_IP');
    const advertised = env.findIndex((e) => e.name === 'PERPMESH__ACCOUNT__ADVERTISE_ADDRESS');
    assert.ok(podIp >= 0 && podIp < advertised, 'POD_IP before the advertised address');
    assert.equal(env[advertised]?.value, '$(POD_IP):50052');
    // The account's env on the shipped config (the pod IP as Kubernetes substitutes it): real keys, valid values.
    const values = Object.fromEntries(
      env
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, e.value!.replace('$(POD_IP)', '10.1.2.3')]),
    );
    const { config } = loadConfig(accountConfigSchema, {
      path: join(k8sDir, 'base/perpmesh.yaml'),
      env: { ...values, PERPMESH_TOKEN: 'test-token' },
    });
    assert.equal(config.account.ownership, 'per_account');
    assert.equal(config.account.advertiseAddress, '10.1.2.3:50052');
  });

  test('prod: every execution replica advertises its pod address (strict-nonce keys are forwarded to their owner)', () => {
    const execution = workloads(render('prod')).find((o) => o.metadata.name === 'execution')!;
    assert.ok(Number(execution.spec?.replicas ?? 1) >= 2, 'execution replicas');
    const container = template(execution).spec.containers[0]!;
    const env = container.env ?? [];
    const podIp = env.findIndex((e) => e.name === 'POD_IP');
    const advertised = env.findIndex((e) => e.name === 'PERPMESH__EXECUTION__ADVERTISE_ADDRESS');
    assert.ok(podIp >= 0 && podIp < advertised, 'POD_IP before the advertised address');
    const values = Object.fromEntries(
      env
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, e.value!.replace('$(POD_IP)', '10.1.2.3')]),
    );
    const { config } = loadConfig(executionConfigSchema, {
      path: join(k8sDir, 'base/perpmesh.yaml'),
      env: { ...values, PERPMESH_TOKEN: 'test-token' },
    });
    assert.equal(config.execution.advertiseAddress, '10.1.2.3:50051');
  });

  test('prod-per-account: the same as prod (kept for those who rendered it before)', () => {
    assert.deepEqual(render('prod-per-account'), render('prod'));
  });

  test('dev: one NATS node without a cluster block, streams R1', () => {
    const objs = render('dev');
    const natsConf = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nats-config'))!;
    assert.doesNotMatch(natsConf.data?.['nats.conf'] ?? '', /^cluster\s*\{/m);
    for (const w of perpmeshWorkloads(objs)) {
      assert.equal(envOf(template(w).spec.containers[0]!, 'PERPMESH__NATS__REPLICAS'), undefined);
    }
  });

  test('a malformed object fails validation (the check can fail)', async () => {
    const [deployment] = render('dev').filter((o) => o.kind === 'Deployment');
    const broken = { ...deployment!, spec: { ...deployment!.spec, replicas: 'two' } };
    await assert.rejects(validate(broken));
  });
});

test('the Kubernetes redis.conf is the compose one', () => {
  assert.equal(
    readFileSync(join(k8sDir, 'base/redis.conf'), 'utf8'),
    readFileSync(join(root, 'deploy/redis/redis.conf'), 'utf8'),
  );
});
