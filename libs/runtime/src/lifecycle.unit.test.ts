import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { HealthRegistry } from './health.js';
import {
  LIFECYCLE_HEALTH_COMPONENT,
  type ServiceComponent,
  ServiceLifecycle,
  type ServiceLifecycleOptions,
  ServiceStartError,
  type ServiceState,
  type SignalSource,
} from './lifecycle.js';
import { createLogger } from './logger.js';

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ service: 'lifecycle-test', level: 'debug', destination }), lines };
}

/** Components that record start/stop into one shared journal. */
function recorder() {
  const journal: string[] = [];
  const component = (name: string, behaviour: Partial<ServiceComponent> = {}): ServiceComponent => ({
    name,
    start: async (signal) => {
      journal.push(`start ${name}`);
      await behaviour.start?.(signal);
    },
    stop: async () => {
      journal.push(`stop ${name}`);
      await behaviour.stop?.();
    },
    ...(behaviour.stopTimeoutMs !== undefined ? { stopTimeoutMs: behaviour.stopTimeoutMs } : {}),
  });
  return { journal, component };
}

class FakeSignals extends EventEmitter implements SignalSource {
  send(signal: 'SIGINT' | 'SIGTERM'): void {
    this.emit(signal);
  }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function lifecycle(
  overrides: Partial<ServiceLifecycleOptions> & Pick<ServiceLifecycleOptions, 'components'>,
) {
  const { logger, lines } = captureLogger();
  const exits: number[] = [];
  const signals = new FakeSignals();
  const service = new ServiceLifecycle({
    name: 'svc',
    logger,
    signals,
    exit: (code) => exits.push(code),
    ...overrides,
  });
  return { service, lines, exits, signals };
}

describe('ServiceLifecycle', () => {
  test('starts in order, stops in reverse order, and walks the documented states', async () => {
    const { journal, component } = recorder();
    const states: ServiceState[] = [];
    const { service, lines } = lifecycle({
      components: [component('store'), component('bus'), component('grpc')],
    });
    states.push(service.state);
    const starting = service.start();
    states.push(service.state);
    await starting;
    states.push(service.state);
    const stopping = service.stop('test');
    const report = await stopping;
    states.push(service.state);
    assert.deepEqual(journal, [
      'start store',
      'start bus',
      'start grpc',
      'stop grpc',
      'stop bus',
      'stop store',
    ]);
    assert.deepEqual(states, ['idle', 'starting', 'running', 'stopped']);
    assert.deepEqual(report, { ok: true, failures: [] });
    assert.equal(await service.stop('again'), report, 'stop is idempotent');
    const steps = lines.map(
      (l) => `${l.msg}${l.component && l.component !== 'lifecycle' ? ` ${l.component}` : ''}`,
    );
    for (const expected of ['starting component store', 'component started grpc', 'stopping component bus']) {
      assert.ok(steps.includes(expected), `missing log step "${expected}" in ${JSON.stringify(steps)}`);
    }
  });

  test('a failed start stops the components already started, in reverse, and fails', async () => {
    const { journal, component } = recorder();
    const boom = new Error('redis refused the connection');
    const { service } = lifecycle({
      components: [
        component('store'),
        component('bus'),
        component('venue', {
          start: () => {
            throw boom;
          },
        }),
        component('grpc'),
      ],
    });
    await assert.rejects(service.start(), (err: unknown) => {
      assert.ok(err instanceof ServiceStartError);
      assert.equal(err.component, 'venue');
      assert.equal(err.cause, boom);
      assert.match(err.message, /svc: component venue failed to start: redis refused the connection/);
      return true;
    });
    assert.deepEqual(journal, ['start store', 'start bus', 'start venue', 'stop bus', 'stop store']);
    assert.equal(service.state, 'failed');
  });

  test('run(): SIGTERM stops gracefully and exits 0', async () => {
    const { journal, component } = recorder();
    const started = deferred();
    const { service, exits, signals } = lifecycle({
      components: [component('a'), component('b', { start: () => started.resolve() })],
    });
    const running = service.run();
    await started.promise;
    await new Promise((r) => setImmediate(r));
    assert.equal(service.state, 'running');
    signals.send('SIGTERM');
    assert.equal(await running, 0);
    assert.deepEqual(exits, [0]);
    assert.deepEqual(journal, ['start a', 'start b', 'stop b', 'stop a']);
    assert.equal(signals.listenerCount('SIGTERM'), 0, 'signal handlers removed');
    assert.equal(signals.listenerCount('SIGINT'), 0);
  });

  test('run(): a failed start exits non-zero', async () => {
    const { component } = recorder();
    const { service, exits } = lifecycle({
      components: [
        component('a'),
        component('b', {
          start: () => Promise.reject(new Error('no')),
        }),
      ],
    });
    assert.equal(await service.run(), 1);
    assert.deepEqual(exits, [1]);
  });

  test('a second signal forces the exit while a stop hangs', async () => {
    const { component } = recorder();
    const hang = deferred();
    const started = deferred();
    const { service, exits, signals } = lifecycle({
      components: [component('stuck', { start: () => started.resolve(), stop: () => hang.promise })],
      stopTimeoutMs: 60_000,
    });
    const running = service.run();
    await started.promise;
    await new Promise((r) => setImmediate(r));
    signals.send('SIGINT');
    assert.equal(service.state, 'stopping');
    signals.send('SIGINT');
    assert.deepEqual(exits, [130]);
    hang.resolve();
    await running;
  });

  test('a stop past its timeout is abandoned, reported, and the next component still stops', async () => {
    const { journal, component } = recorder();
    const { service } = lifecycle({
      components: [
        component('first'),
        component('slow', { stop: () => new Promise(() => {}), stopTimeoutMs: 20 }),
      ],
    });
    await service.start();
    const report = await service.stop();
    assert.deepEqual(journal, ['start first', 'start slow', 'stop slow', 'stop first']);
    assert.deepEqual(report, {
      ok: false,
      failures: [{ component: 'slow', reason: 'did not stop within 20 ms' }],
    });
    assert.equal(service.state, 'stopped');
  });

  test('a stop that throws is reported and run() exits 1', async () => {
    const { component } = recorder();
    const started = deferred();
    const { service, exits, signals } = lifecycle({
      components: [
        component('x', {
          start: () => started.resolve(),
          stop: () => {
            throw new Error('flush failed');
          },
        }),
      ],
    });
    const running = service.run();
    await started.promise;
    await new Promise((r) => setImmediate(r));
    signals.send('SIGTERM');
    assert.equal(await running, 1);
    assert.deepEqual(exits, [1]);
  });

  test('a stop during start aborts the start signal, starts nothing more, stops what started', async () => {
    const { journal, component } = recorder();
    const inSecond = deferred();
    let sawAbort = false;
    const { service } = lifecycle({
      components: [
        component('first'),
        component('second', {
          start: async (signal) => {
            inSecond.resolve();
            await new Promise<void>((resolve) =>
              signal.addEventListener('abort', () => resolve(), { once: true }),
            );
            sawAbort = signal.aborted;
          },
        }),
        component('third'),
      ],
    });
    const starting = service.start();
    await inSecond.promise;
    const report = await service.stop('shutdown during start');
    await starting;
    assert.ok(sawAbort);
    assert.deepEqual(report.ok, true);
    assert.deepEqual(journal, ['start first', 'start second', 'stop second', 'stop first']);
    assert.equal(service.state, 'stopped');
  });

  test('health: the lifecycle component is not ready until every component started', async () => {
    const health = new HealthRegistry();
    const inB = deferred();
    const release = deferred();
    const { component } = recorder();
    const { service } = lifecycle({
      health,
      components: [
        component('a'),
        component('b', {
          start: async () => {
            inB.resolve();
            await release.promise;
          },
        }),
      ],
    });
    const starting = service.start();
    await inB.promise;
    assert.equal(health.isReady(), false);
    assert.equal(health.component(LIFECYCLE_HEALTH_COMPONENT)?.reason, 'svc: starting b (2/2)');
    release.resolve();
    await starting;
    assert.equal(health.isReady(), true);
    await service.stop('maintenance');
    assert.equal(health.isReady(), false);
    assert.match(health.component(LIFECYCLE_HEALTH_COMPONENT)?.reason ?? '', /svc: stopped \(maintenance\)/);
  });

  test('duplicate component names are refused', () => {
    const { component } = recorder();
    assert.throws(
      () => lifecycle({ components: [component('a'), component('a')] }),
      /duplicate component name: a/,
    );
  });
});
