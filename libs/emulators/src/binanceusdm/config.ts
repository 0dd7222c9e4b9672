/**
 * A Binance USD-M-like simulated venue (VENUES.md: 0.02% / 0.05%, 8 h funding by
 * default, BTC 0.1 / 0.001, 100 USDT minimum notional, settled in USDT).
 */
import { type VenueConfig, type VenueConfigInput, venuePreset } from '@perpmesh/sim';

/** `settle` USDT (BTCUSDT, the classic USD-M book) or USDC (BTCUSDC, also a USD-M perp). */
export function binanceusdmSimConfig(
  venueId = 'binanceusdm',
  settle: 'USDT' | 'USDC' = 'USDT',
  overrides: VenueConfigInput = {},
): VenueConfig {
  return venuePreset('paper', {
    ...overrides,
    venueId,
    settleAsset: settle,
    instruments: [
      {
        instrumentId: `BTC-${settle}-PERP`,
        tickSize: '0.1',
        lotSize: '0.001',
        minNotional: '100',
        maxOrderSize: '1000',
        maxLeverage: 125,
        maintenanceMarginRate: '0.004',
      },
      {
        instrumentId: `ETH-${settle}-PERP`,
        tickSize: '0.01',
        lotSize: '0.001',
        minNotional: '20',
        maxOrderSize: '10000',
        maxLeverage: 100,
        maintenanceMarginRate: '0.005',
      },
    ],
  });
}
