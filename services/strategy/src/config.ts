/**
 * The one config parser of the strategy service: the common sections, `venues` / `paper`
 * (markets are read from the venues' public market lists), and its own `strategy`
 * section (fields in libs/strategy/src/runtime/config.ts).
 */
import { serviceConfigSchema } from '@perpmesh/runtime';
import { DEFAULT_STRATEGY_HTTP_PORT, strategySectionFields } from '@perpmesh/strategy/runtime';
import { venueConfigShape } from '@perpmesh/venues';
import type { z } from 'zod';

export {
  DEFAULT_STRATEGY_GRPC_PORT,
  DEFAULT_STRATEGY_HTTP_PORT,
  STRATEGY_SERVICE,
} from '@perpmesh/strategy/runtime';

export const strategyConfigSchema = serviceConfigSchema('strategy', strategySectionFields, {
  defaultHttpPort: DEFAULT_STRATEGY_HTTP_PORT,
}).extend(venueConfigShape);

export type StrategyServiceConfigFile = z.output<typeof strategyConfigSchema>;
