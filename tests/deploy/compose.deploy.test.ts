/**
 * The container stack for real (tier `deploy`: needs a Docker engine): `make up LOCAL=1`
 * builds the image, brings up NATS, Redis, every service and the gateway (healthchecks on
 * /healthz and /readyz), an order placed over gRPC fills and shows in balances and
 * positions, the gateway dashboard answers, execution killed -9 comes back (restart policy), and
 * `make down` leaves no container. The engine is set up by scripts/deploy-prepare.sh (make
 * prepare); the test skips, saying so, only when that cannot be done on this machine. A
 * dockerd this test started is stopped again at the end.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import {
  AccountServiceClient,
  ExecutionServiceClient,
  type GetBalancesRequest,
  type GetBalancesResponse,
  type GetPositionsRequest,
  type GetPositionsResponse,
  OrderStatus,
} from '@perpmesh/contracts';
import { bearerAuthInterceptor, Secret } from '@perpmesh/runtime';
import { eventually } from '@perpmesh/testing';
import { ACCOUNT, BTC, call, marketOrder, placeOrder } from '../e2e/harness.js';

const root = new URL('../..', import.meta.url).pathname;
const PROJECT = 'perpmesh-deploytest';
const GATEWAY_PORT = 18080;
// The loopback override's ports (deploy/compose.loopback.yml).
const HTTP_PORTS = {
  'paper-venue': 19094,
  'market-data': 19103,
  execution: 19101,
  account: 19102,
  strategy: 19105,
  gateway: GATEWAY_PORT,
};
const EXECUTION_GRPC = '127.0.0.1:15051';
const ACCOUNT_GRPC = '127.0.0.1:15052';

const engineAnswers = () => spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
const engineWasRunning = engineAnswers();

/** Engine + local images (idempotent, cached by content); the reason when this machine cannot. */
function prepare(): string | false {
  const r = spawnSync('bash', ['scripts/deploy-prepare.sh'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status === 0 && engineAnswers()) return false;
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
  return `needs a Docker engine, and scripts/deploy-prepare.sh could not set one up: ${tail || r.error?.message}`;
}
const skip = prepare();

function make(...args: string[]): void {
  const r = spawnSync('make', [...args, 'LOCAL=1', `COMPOSE_PROJECT=${PROJECT}`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    // Only the end: a build prints every step of every image.
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`make ${args.join(' ')} failed (${r.status ?? r.signal}):\n${tail}`);
  }
}

function projectContainers(): string[] {
  return execFileSync(
    'docker',
    ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean);
}

async function readyz(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
  return res.status;
}

describe('compose stack (make up LOCAL=1)', { skip, timeout: 900_000 }, () => {
  const token = () => readFileSync(join(root, 'deploy/secrets/perpmesh-token'), 'utf8').trim();
  const clients: { close(): void }[] = [];

  before(() => {
    make('up');
  });

  after(() => {
    for (const c of clients) c.close();
    try {
      make('down');
    } finally {
      if (!engineWasRunning) {
        // The engine deploy-prepare.sh started for this test: stop it again.
        const pid = Number(readFileSync('/tmp/perpmesh-dockerd.pid', 'utf8'));
        if (pid > 0) process.kill(pid, 'SIGTERM');
      }
    }
  });

  test('every service and the gateway are ready', async () => {
    for (const [name, port] of Object.entries(HTTP_PORTS)) {
      assert.equal(await readyz(port), 200, `${name} /readyz`);
    }
    const dashboard = await fetch(`http://127.0.0.1:${GATEWAY_PORT}/`);
    assert.equal(dashboard.status, 200);
    assert.match(await dashboard.text(), /<html/i);
  });

  test('an order over gRPC fills and shows in balances and positions', async () => {
    const auth = { interceptors: [bearerAuthInterceptor(new Secret(token()))] };
    const exec = new ExecutionServiceClient(EXECUTION_GRPC, credentials.createInsecure(), auth);
    const accounts = new AccountServiceClient(ACCOUNT_GRPC, credentials.createInsecure(), auth);
    clients.push(exec, accounts);

    const res = await placeOrder(exec, marketOrder({ venue: 'paper-extended', size: '0.01' }));
    assert.equal(res.order?.status, OrderStatus.ORDER_STATUS_FILLED, JSON.stringify(res.order));
    await eventually(
      'the fill in positions',
      async () => {
        const p = await call<GetPositionsRequest, GetPositionsResponse>(
          accounts.getPositions.bind(accounts),
          {
            venue: 'paper-extended',
            account: ACCOUNT,
            instrument: BTC,
          },
        );
        return p.positions.length > 0 ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const b = await call<GetBalancesRequest, GetBalancesResponse>(accounts.getBalances.bind(accounts), {
      venue: 'paper-extended',
      account: ACCOUNT,
    });
    assert.ok(b.balances.length > 0, JSON.stringify(b));
  });

  // A crash, not `docker kill`: the engine counts `docker kill` as a manual stop, which the
  // restart policy (unless-stopped) then honours. SIGKILL of the container's process from
  // the host is what an OOM kill or a crash looks like to it.
  test('execution killed -9: the container restarts and is ready again', async () => {
    const [id] = execFileSync(
      'docker',
      [
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '--filter',
        'label=com.docker.compose.service=execution',
      ],
      { encoding: 'utf8' },
    ).split('\n');
    assert.ok(id, 'the execution container');
    const state = () =>
      execFileSync('docker', ['inspect', '-f', '{{.State.Pid}} {{.RestartCount}}', id], { encoding: 'utf8' })
        .trim()
        .split(' ')
        .map(Number) as [number, number];
    const [pid, restarts] = state();
    assert.ok(pid > 0, 'execution is running');
    process.kill(pid, 'SIGKILL');
    await eventually('execution restarted', () => state()[1] > restarts && state()[0] > 0, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await eventually('execution ready again', () => readyz(HTTP_PORTS.execution).then((s) => s === 200), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
  });

  test('make down leaves no container of the stack', () => {
    make('down');
    assert.deepEqual(projectContainers(), []);
  });
});
