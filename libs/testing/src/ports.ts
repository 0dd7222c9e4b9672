/**
 * Free TCP ports for tests that start their own servers or child processes.
 *
 * A port found free is bound by the child a moment later, so two things can take it in
 * between: another test process running at the same time (the runner runs several files at
 * once) picking the same port, and any outgoing connection on the machine, whose local port
 * the kernel picks from the ephemeral range. So ports come from OUTSIDE the ephemeral range,
 * and each one handed out is reserved across processes by a lock file naming the pid that
 * holds it (a dead holder's reservation is taken over).
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const handedOut = new Set<number>();
const reserved: string[] = [];
/** One file per reserved port, holding the pid of the test process that reserved it. */
export const PORT_RESERVATIONS_DIR = join(tmpdir(), 'perpmesh-test-ports');
/** Below this, ports are too often taken by well-known services. */
const LOWEST_PORT = 10_000;
const HIGHEST_PORT = 65_535;
/** A range smaller than this is not worth searching: fall back to ports the kernel picks. */
const MIN_RANGE = 1_000;

/**
 * A free TCP port on 127.0.0.1 (bound then released: the child binds it a moment later).
 * Never the same port twice in one test process, nor to two test processes at once.
 */
export async function freePort(
  opts: { readonly range?: { readonly low: number; readonly high: number } } = {},
): Promise<number> {
  const range = opts.range ?? portRangeOutsideEphemeral();
  if (range === undefined) return kernelPickedPort();
  const size = range.high - range.low + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = range.low + ((start + i) % size);
    if (handedOut.has(port) || !reserve(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
    release(port);
  }
  return kernelPickedPort();
}

/** The widest run of ports in [LOWEST_PORT, HIGHEST_PORT] the kernel never picks for a connection. */
export function portRangeOutsideEphemeral(
  ephemeral = readEphemeralRange(),
): { low: number; high: number } | undefined {
  const below = { low: LOWEST_PORT, high: Math.min(HIGHEST_PORT, ephemeral.low - 1) };
  const above = { low: Math.max(LOWEST_PORT, ephemeral.high + 1), high: HIGHEST_PORT };
  const widest = [below, above]
    .filter((r) => r.high - r.low + 1 >= MIN_RANGE)
    .sort((a, b) => b.high - b.low - (a.high - a.low))[0];
  return widest;
}

function readEphemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low!, high: high! };
  } catch {
    // Not Linux: the common default.
  }
  return { low: 32_768, high: 60_999 };
}

/** Takes the cross-process reservation of `port`; false when a live process holds it. */
function reserve(port: number): boolean {
  const file = join(PORT_RESERVATIONS_DIR, String(port));
  mkdirSync(PORT_RESERVATIONS_DIR, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      if (reserved.length === 0) process.once('exit', releaseAll);
      reserved.push(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      if (holderAlive(file)) return false;
      try {
        unlinkSync(file);
      } catch {
        return false;
      }
    }
  }
  return false;
}

function holderAlive(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return true; // being written right now
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function release(port: number): void {
  const file = join(PORT_RESERVATIONS_DIR, String(port));
  const i = reserved.indexOf(file);
  if (i >= 0) reserved.splice(i, 1);
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function releaseAll(): void {
  for (const file of reserved.splice(0)) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function kernelPickedPort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
