/**
 * `perpmesh start`: runs the embedded system until SIGINT/SIGTERM, with a progress line
 * while it starts and one line saying where to look once it is ready.
 */
import { runServiceMain } from '@perpmesh/app';
import type { Logger } from '@perpmesh/runtime';
import {
  buildEmbeddedComponents,
  EMBEDDED_SERVICE,
  type EmbeddedHandles,
  embeddedConfigSchema,
} from './embedded.js';

export interface StartOptions {
  argv: readonly string[];
  /** Where the human progress/ready lines go (logs stay on stdout as JSON). Default stderr. */
  out?: NodeJS.WritableStream;
}

export function startEmbedded(options: StartOptions): Promise<number> {
  const out = options.out ?? process.stderr;
  return runServiceMain({
    name: EMBEDDED_SERVICE,
    schema: embeddedConfigSchema,
    argv: options.argv,
    build: (config, logger, health) => {
      const { components, handles } = buildEmbeddedComponents(config, logger, health);
      watchReadiness(handles, out, logger);
      // `make run` killed (not Ctrl-C): stop with it rather than live on as an orphan that
      // holds the ports ("address in use" on the next start).
      watchParent(() => {
        logger.warn('the process that started perpmesh exited: stopping');
        process.kill(process.pid, 'SIGTERM');
      });
      return components;
    },
  });
}

/**
 * Calls `onOrphaned` once when this process's parent exits (its parent pid changes: the
 * orphan is re-parented to init or a subreaper). Not armed when started by init itself.
 */
export function watchParent(
  onOrphaned: () => void,
  options: { intervalMs?: number; parentPid?: () => number } = {},
): () => void {
  const parentPid = options.parentPid ?? (() => process.ppid);
  const original = parentPid();
  if (original <= 1) return () => {};
  const timer = setInterval(() => {
    if (parentPid() === original) return;
    clearInterval(timer);
    onOrphaned();
  }, options.intervalMs ?? 1_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** The ready line's last part: which venues are local emulators (simulated money), if any. */
export function emulatedNote(venues: readonly string[]): string {
  return venues.length === 0
    ? ''
    : `; EMULATED venues (local emulators, simulated money): ${venues.join(', ')}`;
}

/** Prints what is still missing every 2 s until ready, then where to look. */
function watchReadiness(handles: EmbeddedHandles, out: NodeJS.WritableStream, logger: Logger): void {
  const startedAt = Date.now();
  let announced = false;
  const report = () => {
    const readiness = handles.health.readiness();
    // Informational components (a request budget running low) never hold the start up.
    const waiting = readiness.components.filter((c) => !c.ready && !c.informational);
    if (readiness.ready && readiness.components.length > 0) {
      if (announced) return;
      announced = true;
      const grpc = handles.grpcAddresses();
      const line =
        `perpmesh is ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ` +
        `health http://localhost:${handles.httpPort()}/readyz, ` +
        `gRPC execution ${grpc.execution}, account ${grpc.account}, market-data ${grpc['market-data']}; ` +
        // After the ';': scripts and tests read the line up to market-data's address.
        (grpc.strategy ? `strategy ${grpc.strategy}; ` : '') +
        `dashboard http://localhost:${handles.httpPort()}/` +
        (handles.actionTokenFile() ? ` (action token in ${handles.actionTokenFile()})` : '') +
        (handles.sessionDir() ? `; session data in ${handles.sessionDir()}` : '') +
        emulatedNote(handles.emulatedVenues());
      out.write(`${line}\n`);
      logger.info({ grpc, httpPort: handles.httpPort() }, 'perpmesh ready');
      return;
    }
    announced = false;
    const deciding = readiness.components.filter((c) => !c.informational);
    const total = deciding.length;
    const first = waiting[0];
    out.write(
      `perpmesh starting: ${total - waiting.length}/${total} components ready` +
        (first ? ` (waiting for ${first.name}: ${first.reason ?? 'starting'})` : '') +
        '\n',
    );
  };
  const timer = setInterval(report, 2_000);
  timer.unref();
  handles.health.onReadinessChange((r) => {
    if (r.ready) report();
  });
}
