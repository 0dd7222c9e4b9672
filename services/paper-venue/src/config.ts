/**
 * The one config parser of the paper-venue service.
 *
 * Shared sections (read by every service, so all agree on venues and accounts):
 *   paper.seed, paper.stepInterval           the synthetic market's seed and tick
 *   venues.<id> (kind: paper)                preset, fees, funding interval, instruments,
 *                                            accounts with apiKeyId and paperDeposit
 * Its own section, `paperVenue`:
 *   grpcHost (127.0.0.1), grpcPort (50054)    PaperVenueService, health, reflection
 *   http.host (127.0.0.1), http.port (9094)   /healthz /readyz /metrics
 *   fillHistoryLimit (10000)                fills kept per account for FetchFills
 *   venueRules.<id>                          finer rules than `venues` carries: margin
 *                                            (defaultLeverage, liquidationFeeRate), nonce and
 *                                            duplicate-client-order-id rules, funding formula,
 *                                            instrument specs by id
 *
 *   paperVenue:
 *     grpcPort: 50054
 *     venueRules:
 *       paper-lighter:
 *         defaultLeverage: 5
 *         requireIncreasingNonce: true
 *         funding: { capPerInterval: "0.004" }
 *         instruments:
 *           BTC-USDC-PERP: { maxLeverage: 25, maintenanceMarginRate: "0.015" }
 */
import { decimalString, listenHostSchema, portSchema, serviceConfigSchema } from '@perpmesh/runtime';
import { DEFAULT_FILL_HISTORY_LIMIT, venueConfigShape } from '@perpmesh/venues';
import { z } from 'zod';

export const PAPER_VENUE_SERVICE = 'paper-venue';
export const DEFAULT_PAPER_VENUE_GRPC_PORT = 50054;
export const DEFAULT_PAPER_VENUE_HTTP_PORT = 9094;

const instrumentRulesSchema = z.strictObject({
  tickSize: decimalString.optional(),
  lotSize: decimalString.optional(),
  minSize: decimalString.optional(),
  minNotional: decimalString.optional(),
  maxOrderSize: decimalString.optional(),
  maxLeverage: z.int().min(1).max(1000).optional(),
  maintenanceMarginRate: decimalString.optional(),
});

const venueRulesSchema = z.strictObject({
  settleAsset: z.string().min(1).optional(),
  liquidationFeeRate: decimalString.optional(),
  marketProtectionBand: decimalString.optional(),
  defaultLeverage: z.int().min(1).max(1000).optional(),
  requireIncreasingNonce: z.boolean().optional(),
  rejectDuplicateClientOrderId: z.boolean().optional(),
  settlementDecimals: z.int().min(0).max(18).optional(),
  closedOrderRetention: z.int().min(0).max(10_000_000).optional(),
  funding: z
    .strictObject({
      interestRate: decimalString.optional(),
      premiumClamp: decimalString.optional(),
      divisor: decimalString.optional(),
      capPerInterval: decimalString.optional(),
      rateDecimals: z.int().min(4).max(18).optional(),
    })
    .optional(),
  instruments: z.record(z.string(), instrumentRulesSchema).optional(),
});

export const paperVenueConfigSchema = serviceConfigSchema(
  'paperVenue',
  {
    grpcHost: listenHostSchema,
    grpcPort: portSchema.default(DEFAULT_PAPER_VENUE_GRPC_PORT),
    fillHistoryLimit: z.int().min(0).max(1_000_000).default(DEFAULT_FILL_HISTORY_LIMIT),
    venueRules: z.record(z.string(), venueRulesSchema).default({}),
  },
  { defaultHttpPort: DEFAULT_PAPER_VENUE_HTTP_PORT },
).extend(venueConfigShape);

export type PaperVenueServiceConfig = z.output<typeof paperVenueConfigSchema>;
