/**
 * The strategy deployable: `node services/strategy/dist/main.js [--config f] [--set k=v]`.
 * Runs the configured strategy instances (one active instance per strategy id: a second
 * process waits as hot standby), StrategyService on gRPC (port 50055), /healthz /readyz
 * /metrics on HTTP (9105). Orders go ONLY through the execution service's gRPC API
 * (`strategy.executionAddress`); balances and positions come from the account service.
 * SIGTERM / SIGINT: every strategy cancels its open orders and keeps its positions.
 */
import { deployableComponents, runIfEntryPoint, runServiceMain } from '@perpmesh/app';
import { createMetrics, HealthRegistry, type Logger, type ServiceComponent } from '@perpmesh/runtime';
import { STRATEGY_VENUE_ACCESS, strategyServiceComponents } from '@perpmesh/strategy/runtime';
import { STRATEGY_SERVICE, type StrategyServiceConfigFile, strategyConfigSchema } from './config.js';

export { STRATEGY_PROTO } from '@perpmesh/strategy/runtime';

export function buildComponents(
  config: StrategyServiceConfigFile,
  logger: Logger,
  health = new HealthRegistry(),
): ServiceComponent[] {
  const section = config.strategy;
  const source = `${STRATEGY_SERVICE}/${section.instance}`;
  const metrics = createMetrics(STRATEGY_SERVICE);
  return deployableComponents(config, {
    source,
    logger,
    health,
    http: section.http,
    metrics: metrics.registry,
    stateStore: true,
    venues: { access: STRATEGY_VENUE_ACCESS, callTimeoutMs: section.callTimeout },
    // On stop it cancels every strategy's open orders and keeps positions.
    service: (deps) =>
      strategyServiceComponents({
        ...deps,
        section,
        executionAddress: () => section.executionAddress,
        accountAddress: () => section.accountAddress,
        authToken: config.auth.token,
        metrics,
        source,
        health,
        logger,
        grpc: {
          config,
          onStarted: (grpc) => logger.info({ grpcAddress: grpc.address }, 'strategy listening'),
        },
      }),
  });
}

export function main(argv?: readonly string[]): Promise<number> {
  return runServiceMain({
    name: STRATEGY_SERVICE,
    schema: strategyConfigSchema,
    argv,
    build: buildComponents,
  });
}

runIfEntryPoint(import.meta.url, STRATEGY_SERVICE, () => main());
