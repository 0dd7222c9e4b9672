/**
 * The one config parser of the account service: the common sections, `venues` / `paper`,
 * and its own `account` section (fields in libs/account/src/config.ts).
 */
import { accountSectionFields, DEFAULT_ACCOUNT_HTTP_PORT } from '@perpmesh/account';
import { serviceConfigSchema } from '@perpmesh/runtime';
import { venueConfigShape } from '@perpmesh/venues';
import type { z } from 'zod';

export {
  ACCOUNT_SERVICE,
  accountSettingsOf,
  DEFAULT_ACCOUNT_GRPC_PORT,
  DEFAULT_ACCOUNT_HTTP_PORT,
} from '@perpmesh/account';

export const accountConfigSchema = serviceConfigSchema('account', accountSectionFields, {
  defaultHttpPort: DEFAULT_ACCOUNT_HTTP_PORT,
}).extend(venueConfigShape);

export type AccountServiceConfigFile = z.output<typeof accountConfigSchema>;
