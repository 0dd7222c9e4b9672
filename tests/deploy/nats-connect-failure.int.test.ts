/**
 * NatsEventLog.connect to a server without JetStream fails, and closes the connection it
 * opened (it reconnects forever otherwise: a caller retrying connect piled them up).
 * Runs its own nats-server (no -js) with monitoring, to count the connections.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { NatsEventLog } from '@perpmesh/bus';
import { eventually, freePort } from '@perpmesh/testing';

let server: ReturnType<typeof spawn> | undefined;
let clientPort = 0;
let monitorPort = 0;

const connections = async (): Promise<number | undefined> => {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/connz`);
    return ((await res.json()) as { num_connections: number }).num_connections;
  } catch {
    return undefined;
  }
};

before(async () => {
  clientPort = await freePort();
  monitorPort = await freePort();
  server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(clientPort), '-m', String(monitorPort)], {
    stdio: 'ignore',
  });
  await eventually('nats-server (no JetStream) answers', async () => (await connections()) === 0, 15_000);
});

after(() => {
  server?.kill('SIGKILL');
});

test('a failed connect (no JetStream) leaves no connection behind', async () => {
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      NatsEventLog.connect({ servers: `nats://127.0.0.1:${clientPort}`, name: `no-js-${i}` }),
    );
  }
  await eventually('every connection closed', async () => (await connections()) === 0, 10_000);
});
