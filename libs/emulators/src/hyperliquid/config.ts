/**
 * A Hyperliquid-like simulated venue (VENUES.md: 0.015% / 0.045%, funding paid hourly,
 * 40x BTC, settled in USDC). Prices keep 5 significant digits on the venue; at BTC
 * ~60,000 that is a whole-dollar tick; sizes have 5 decimals; $10 minimum.
 */
import { type VenueConfig, venuePreset } from '@perpmesh/sim';

export function hyperliquidSimConfig(venueId = 'hyperliquid'): VenueConfig {
  return venuePreset('paper', {
    venueId,
    settleAsset: 'USDC',
    makerFeeRate: '0.00015',
    takerFeeRate: '0.00045',
    funding: {
      intervalMs: 3_600_000,
      interestRate: '0.0001',
      premiumClamp: '0.0005',
      divisor: '8',
      capPerInterval: '0.04',
      rateDecimals: 8,
    },
    instruments: [
      {
        instrumentId: 'BTC-USDC-PERP',
        tickSize: '1',
        lotSize: '0.00001',
        minNotional: '10',
        maxOrderSize: '1000',
        maxLeverage: 40,
        maintenanceMarginRate: '0.0125',
      },
      {
        instrumentId: 'ETH-USDC-PERP',
        tickSize: '0.1',
        lotSize: '0.0001',
        minNotional: '10',
        maxOrderSize: '10000',
        maxLeverage: 25,
        maintenanceMarginRate: '0.02',
      },
    ],
  });
}
