/**
 * The `main` of every perpmesh deployable: config from file, env and argv (exit 2 with
 * the bad fields named), a logger with secret redaction, the components started in order
 * and stopped in reverse on SIGINT/SIGTERM.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '@perpmesh/core';
import {
  ConfigError,
  configArgsFromArgv,
  createLogger,
  HealthRegistry,
  type LogFormat,
  type Logger,
  listenerExposureProblem,
  loadConfig,
  type ServiceComponent,
  ServiceLifecycle,
  type ServiceLifecycleOptions,
} from '@perpmesh/runtime';
import type { z } from 'zod';

/** The repo's proto/ dir (for gRPC reflection), whether running from src/ or dist/. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

export interface ServiceMainOptions<S extends z.ZodType> {
  name: string;
  schema: S;
  /** Default: `process.argv.slice(2)`. */
  argv?: readonly string[] | undefined;
  /** Default: a new registry, handed to `build` and the lifecycle. */
  health?: HealthRegistry;
  /** The components to run, given the validated config. A ValidationError exits 2 naming the field. */
  build: (config: z.output<S>, logger: Logger, health: HealthRegistry) => readonly ServiceComponent[];
  lifecycle?: Pick<ServiceLifecycleOptions, 'signals' | 'exit' | 'stopTimeoutMs'>;
}

export async function runServiceMain<S extends z.ZodType>(options: ServiceMainOptions<S>): Promise<number> {
  const { name } = options;
  let loaded: ReturnType<typeof loadConfig<S>>;
  try {
    const args = configArgsFromArgv(options.argv ?? process.argv.slice(2));
    loaded = loadConfig(options.schema, {
      ...(args.path === undefined ? {} : { path: args.path }),
      argvOverrides: args.argvOverrides,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    return 2;
  }
  const config = loaded.config as z.output<S> & { log: { level: string; format: LogFormat } };
  const logger = createLogger({
    service: name,
    level: config.log.level as 'info',
    format: config.log.format,
  });
  for (const warning of loaded.warnings) logger.warn(warning);
  if (loaded.overrides.length > 0) logger.info({ overrides: loaded.overrides }, 'config overrides applied');
  // Locked doors: a listener beyond loopback needs auth.token or mutual TLS (libs/runtime listeners.ts).
  const exposure = listenerExposureProblem(
    config as unknown as Parameters<typeof listenerExposureProblem>[0],
  );
  if (exposure) {
    logger.fatal({ field: exposure.setting }, `${name} refuses to start: ${exposure.message}`);
    process.stderr.write(`${name}: ${exposure.message}\n`);
    return 2;
  }
  const health = options.health ?? new HealthRegistry();
  let components: readonly ServiceComponent[];
  try {
    components = options.build(config, logger, health);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    logger.fatal({ field: err.field }, `invalid ${name} config: ${err.message}`);
    return 2;
  }
  const lifecycle = new ServiceLifecycle({
    name,
    logger,
    components,
    health,
    ...options.lifecycle,
  });
  return lifecycle.run();
}

/** True when `moduleUrl` is the file node was started with (`node services/x/dist/main.js`). */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs `main` when this module is the entry point; sets the exit code from its result. */
export function runIfEntryPoint(moduleUrl: string, name: string, main: () => Promise<number>): void {
  if (!isEntryPoint(moduleUrl)) return;
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
