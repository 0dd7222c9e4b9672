/**
 * The one config parser of the execution service: the common sections, `venues` / `paper`,
 * and its own `execution` section (fields in libs/execution/src/config.ts).
 */
import { DEFAULT_EXECUTION_HTTP_PORT, executionSectionFields } from '@perpmesh/execution';
import { serviceConfigSchema } from '@perpmesh/runtime';
import { venueConfigShape } from '@perpmesh/venues';
import type { z } from 'zod';

export {
  DEFAULT_EXECUTION_GRPC_PORT,
  DEFAULT_EXECUTION_HTTP_PORT,
  EXECUTION_SERVICE,
  executionOptionsOf,
} from '@perpmesh/execution';

export const executionConfigSchema = serviceConfigSchema('execution', executionSectionFields, {
  defaultHttpPort: DEFAULT_EXECUTION_HTTP_PORT,
}).extend(venueConfigShape);

export type ExecutionServiceConfigFile = z.output<typeof executionConfigSchema>;
