/**
 * An OKX-like simulated venue (VENUES.md: 0.02% / 0.05%, 8 h funding by default). OKX
 * swaps trade in contracts (BTC-USDT-SWAP: 1 contract = 0.01 BTC, lot 0.01 contract); the
 * sim counts base units, so its lot is 0.0001 BTC and the emulator converts.
 */
import { type VenueConfig, type VenueConfigInput, venuePreset } from '@perpmesh/sim';

/** `overrides`: sim settings beyond the instruments (a test's fast funding, fees). */
export function okxSimConfig(venueId = 'okx', overrides: VenueConfigInput = {}): VenueConfig {
  return venuePreset('paper', {
    ...overrides,
    venueId,
    settleAsset: 'USDT',
    instruments: [
      {
        instrumentId: 'BTC-USDT-PERP',
        tickSize: '0.1',
        lotSize: '0.0001',
        minNotional: '0',
        maxOrderSize: '1000',
        maxLeverage: 100,
        maintenanceMarginRate: '0.004',
      },
    ],
  });
}

/** Base units per contract, per instrument (OKX `ctVal`). */
export const OKX_CONTRACT_VALUE: Readonly<Record<string, string>> = { 'BTC-USDT-PERP': '0.01' };
