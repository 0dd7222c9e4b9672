/**
 * Hands a test a real NATS (JetStream) or Redis server:
 *   1. NATS_URL / REDIS_URL when set (CI and `make test` set them after `make setup`);
 *   2. otherwise a testcontainers container when a Docker engine answers;
 *   3. otherwise a failure that names what is missing. Never a silent skip.
 */
import { randomBytes } from 'node:crypto';
import { errorText } from '@perpmesh/core';

export class TestServerUnavailableError extends Error {
  constructor(what: 'NATS' | 'Redis', envVar: string, why: string, cause?: unknown) {
    super(
      `${what} is needed for this test and none is available: set ${envVar} ` +
        `(\`make setup\` starts one on 127.0.0.1), or start a Docker engine so testcontainers can run one. ` +
        `(${why})`,
      { cause },
    );
    this.name = 'TestServerUnavailableError';
  }
}

type Started = { url: string; stop: () => Promise<void> };
const started = new Map<string, Promise<Started>>();

async function startContainer(what: 'NATS' | 'Redis', envVar: string): Promise<Started> {
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
  } catch (err) {
    // Not "no Docker": the library itself did not load (e.g. a dependency that needs a
    // newer Node; testcontainers >= 12.0.2 pulls undici 8, which needs Node >= 22.19).
    throw new TestServerUnavailableError(
      what,
      envVar,
      `testcontainers could not be loaded on Node ${process.version}: ${errorText(err)}`,
      err,
    );
  }
  try {
    await tc.getContainerRuntimeClient();
  } catch (err) {
    throw new TestServerUnavailableError(what, envVar, `no container runtime: ${errorText(err)}`, err);
  }
  if (what === 'NATS') {
    const c = await new tc.GenericContainer('nats:2.10-alpine')
      .withCommand(['-js', '-sd', '/data'])
      .withExposedPorts(4222)
      .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
      .start();
    return { url: `nats://${c.getHost()}:${c.getMappedPort(4222)}`, stop: async () => void (await c.stop()) };
  }
  const c = await new tc.GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withWaitStrategy(tc.Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return { url: `redis://${c.getHost()}:${c.getMappedPort(6379)}`, stop: async () => void (await c.stop()) };
}

async function serverUrl(what: 'NATS' | 'Redis', envVar: string): Promise<string> {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  let pending = started.get(what);
  if (!pending) {
    pending = startContainer(what, envVar);
    started.set(what, pending);
  }
  return (await pending).url;
}

/** URL of a NATS server with JetStream for integration tests. */
export function natsUrlForTests(): Promise<string> {
  return serverUrl('NATS', 'NATS_URL');
}

/** URL of a Redis server for integration tests. Use your own DB index / key prefix. */
export function redisUrlForTests(): Promise<string> {
  return serverUrl('Redis', 'REDIS_URL');
}

/** Stops containers this process started (no-op when the servers came from env). */
export async function stopTestServers(): Promise<void> {
  const all = [...started.values()];
  started.clear();
  await Promise.all(all.map(async (p) => (await p).stop()));
}

/**
 * A short unique name for this test run, safe in NATS stream names, subjects and
 * Redis keys, so parallel runs never collide (e.g. `T_LX3K9A_5F2C`).
 */
export function uniqueTestName(prefix = 'T'): string {
  return `${prefix}_${Date.now().toString(36).toUpperCase()}_${randomBytes(3).toString('hex').toUpperCase()}`;
}
