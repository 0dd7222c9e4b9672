/**
 * Simulated venues modeled on ../shared/VENUES.md (base fee tier, BTC/ETH, researched
 * 2026-11). Values marked "assumed" are not in that table and are our choice.
 */
import type { VenueId } from '@perpmesh/core';
import { ValidationError } from '@perpmesh/core';
import { type InstrumentSpecInput, type VenueConfig, type VenueConfigInput, venueConfig } from './config.js';

const HOUR_MS = 3_600_000;

/** Binance USD-M-like: 0.02% / 0.05%, 8 h funding, 125x BTC. */
const PAPER: VenueConfigInput = {
  venueId: 'paper',
  settleAsset: 'USDC',
  makerFeeRate: '0.0002',
  takerFeeRate: '0.0005',
  funding: {
    intervalMs: 8 * HOUR_MS,
    interestRate: '0.0001',
    premiumClamp: '0.0005',
    divisor: '1',
    capPerInterval: '0.003',
    rateDecimals: 8,
  },
  liquidationFeeRate: '0.005', // assumed
  marketProtectionBand: '0.05', // assumed
  defaultLeverage: 20,
  requireIncreasingNonce: false,
  rejectDuplicateClientOrderId: false,
  settlementDecimals: 8,
  closedOrderRetention: 10_000,
  instruments: [
    {
      instrumentId: 'BTC-USDC-PERP',
      tickSize: '0.1',
      lotSize: '0.001',
      minNotional: '100',
      maxOrderSize: '1000',
      maxLeverage: 125,
      maintenanceMarginRate: '0.004',
    },
    {
      instrumentId: 'ETH-USDC-PERP',
      tickSize: '0.01',
      lotSize: '0.001',
      minNotional: '20',
      maxOrderSize: '10000',
      maxLeverage: 100,
      maintenanceMarginRate: '0.005',
    },
  ],
};

const LIGHTER_INSTRUMENTS: InstrumentSpecInput[] = [
  {
    instrumentId: 'BTC-USDC-PERP',
    tickSize: '0.1',
    lotSize: '0.00001',
    minNotional: '10',
    maxOrderSize: '1000', // assumed
    maxLeverage: 50,
    maintenanceMarginRate: '0.012',
  },
  {
    instrumentId: 'ETH-USDC-PERP',
    tickSize: '0.01',
    lotSize: '0.0001',
    minNotional: '10',
    maxOrderSize: '10000', // assumed
    maxLeverage: 50,
    maintenanceMarginRate: '0.012',
  },
];

/** Lighter standard-like: 0% / 0%, hourly funding (8 h rate / 8), strict nonces, duplicate client ids rejected. */
const PAPER_LIGHTER: VenueConfigInput = {
  venueId: 'paper-lighter',
  settleAsset: 'USDC',
  makerFeeRate: '0',
  takerFeeRate: '0',
  funding: {
    intervalMs: HOUR_MS,
    interestRate: '0.0001', // 0.00125% per hour x 8
    premiumClamp: '0.0005',
    divisor: '8',
    capPerInterval: '0.005',
    rateDecimals: 8,
  },
  liquidationFeeRate: '0.01', // assumed
  marketProtectionBand: '0.05', // assumed
  defaultLeverage: 10,
  requireIncreasingNonce: true,
  rejectDuplicateClientOrderId: true,
  settlementDecimals: 6,
  closedOrderRetention: 10_000,
  instruments: LIGHTER_INSTRUMENTS,
};

/** Extended-like: 0% / 0.025%, hourly funding clamp(P/8, ±cap). */
const PAPER_EXTENDED: VenueConfigInput = {
  venueId: 'paper-extended',
  settleAsset: 'USDC',
  makerFeeRate: '0',
  takerFeeRate: '0.00025',
  funding: {
    intervalMs: HOUR_MS,
    interestRate: '0',
    premiumClamp: '0',
    divisor: '8',
    capPerInterval: '0.01', // assumed: the venue's hourlyFundingRateCap unit is uncertain
    rateDecimals: 8,
  },
  liquidationFeeRate: '0.005', // assumed
  marketProtectionBand: '0.05', // assumed
  defaultLeverage: 10,
  requireIncreasingNonce: false,
  rejectDuplicateClientOrderId: false,
  settlementDecimals: 6,
  closedOrderRetention: 10_000,
  instruments: [
    {
      instrumentId: 'BTC-USDC-PERP',
      tickSize: '1',
      lotSize: '0.00001',
      minSize: '0.0001',
      minNotional: '10', // assumed
      maxOrderSize: '1000', // assumed
      maxLeverage: 50,
      maintenanceMarginRate: '0.01',
    },
    {
      instrumentId: 'ETH-USDC-PERP',
      tickSize: '0.1',
      lotSize: '0.001',
      minSize: '0.01',
      minNotional: '10', // assumed
      maxOrderSize: '10000', // assumed
      maxLeverage: 50,
      maintenanceMarginRate: '0.01',
    },
  ],
};

const PRESETS: Readonly<Record<string, VenueConfigInput>> = {
  paper: PAPER,
  'paper-lighter': PAPER_LIGHTER,
  'paper-extended': PAPER_EXTENDED,
};

export const PRESET_VENUE_IDS: readonly VenueId[] = Object.keys(PRESETS);

/**
 * The validated config of a preset, optionally with overrides (shallow; `funding` and
 * `instruments` replace the preset's whole value). A new venueId (`paper-fast`) may reuse a preset.
 */
export function venuePreset(presetId: string, overrides: VenueConfigInput = {}): VenueConfig {
  const preset = PRESETS[presetId];
  if (preset === undefined) {
    throw new ValidationError(
      'preset',
      `unknown preset ${JSON.stringify(presetId)}; known: ${PRESET_VENUE_IDS.join(', ')}`,
    );
  }
  return venueConfig({ ...preset, ...overrides });
}
