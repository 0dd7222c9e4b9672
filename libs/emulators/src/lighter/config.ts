/**
 * A Lighter-like simulated venue (VENUES.md: standard accounts 0% / 0%, funding settled
 * hourly as 1/8 of an 8 h rate clamped to ±0.05% around the interest rate, BTC 50x with a
 * 0.1 tick, 0.00001 lot and $10 minimum, settled in USDC). Prices and sizes are integers on
 * the wire (`price_decimals` / `size_decimals`): tick and lot are powers of ten.
 *
 * Nonces and duplicate client order indexes are the emulator's own checks (per API key,
 * with the venue's error codes), so the sim's generic ones are off.
 */
import { type VenueConfig, type VenueConfigInput, venuePreset } from '@perpmesh/sim';

/** The venue's market ids of the instruments the emulator lists (mainnet: ETH 0, BTC 1). */
export const LIGHTER_MARKET_IDS: Readonly<Record<string, number>> = {
  'ETH-USDC-PERP': 0,
  'BTC-USDC-PERP': 1,
};

export function lighterSimConfig(venueId = 'lighter', overrides: VenueConfigInput = {}): VenueConfig {
  return venuePreset('paper', {
    ...overrides,
    venueId,
    settleAsset: 'USDC',
    makerFeeRate: '0',
    takerFeeRate: '0',
    requireIncreasingNonce: false,
    rejectDuplicateClientOrderId: false,
    funding: {
      intervalMs: 3_600_000,
      interestRate: '0.0001',
      premiumClamp: '0.0005',
      divisor: '8',
      capPerInterval: '0.005',
      rateDecimals: 8,
      ...(overrides.funding ?? {}),
    },
    instruments: [
      {
        instrumentId: 'BTC-USDC-PERP',
        tickSize: '0.1',
        lotSize: '0.00001',
        minNotional: '10',
        maxOrderSize: '1000',
        maxLeverage: 50,
        maintenanceMarginRate: '0.012',
      },
      {
        instrumentId: 'ETH-USDC-PERP',
        tickSize: '0.01',
        lotSize: '0.0001',
        minNotional: '10',
        maxOrderSize: '10000',
        maxLeverage: 50,
        maintenanceMarginRate: '0.012',
      },
    ],
  });
}
