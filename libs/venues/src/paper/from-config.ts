/**
 * perpmesh.yaml → PaperVenueHub options, in one place, so whoever hosts the simulated
 * exchange (the paper-venue service, the embedded runner) builds the same world:
 *
 * - `paper.seed` and `paper.stepInterval` (the realtime tick);
 * - every `venues.<id>` of `kind: paper`: its preset, fee and funding-interval overrides,
 *   and its accounts, each funded with `paperDeposit` under its `apiKeyId`;
 * - instruments a venue follows beyond its preset's BTC and ETH: listed from the sim's catalog
 *   (SOL, XRP, DOGE, ...: libs/sim catalog.ts) with its spec;
 * - `paper.closedOrderRetention`: closed orders kept per venue (a venue's rule wins), and
 *   `paper.fillHistoryLimit`: fills kept per account (the caller's `fillHistoryLimit` wins);
 * - optional finer rules per venue (margin, nonce and duplicate-client-order-id rules,
 *   funding formula, instrument specs) that the shared `venues` section does not carry.
 *
 * No paper venue configured → the three presets, with no accounts (market data only).
 */
import { parseDecimal, ValidationError, type VenueId } from '@perpmesh/core';
import { catalogInstrument, type FundingParamsInput, type InstrumentSpecInput } from '@perpmesh/sim';
import type { PaperSection, VenuesSection } from '../config.js';
import { isPaperVenueSection } from './config.js';
import type { PaperVenueHubOptions } from './hub.js';
import {
  type PaperAccountSetup,
  type PaperClock,
  type PaperVenueOverrides,
  type PaperVenueSetup,
  parseApiKeyId,
  resolvePaperVenueConfig,
} from './setup.js';

/** Rules beyond the shared `venues` section: field by field over the preset; instruments by id. */
export interface PaperVenueRules extends Omit<PaperVenueOverrides, 'instruments' | 'funding'> {
  readonly funding?: Omit<FundingParamsInput, 'intervalMs'>;
  readonly instruments?: Readonly<Record<string, Omit<InstrumentSpecInput, 'instrumentId'>>>;
}

export interface PaperHubFromConfigOptions {
  readonly venues: VenuesSection;
  readonly paper: PaperSection;
  /** Default: realtime, ticking every `paper.stepInterval`. */
  readonly clock?: PaperClock;
  readonly startMs?: number;
  readonly rules?: Readonly<Record<VenueId, PaperVenueRules>>;
  /** Fills kept per account; default `paper.fillHistoryLimit`, else the hub's default. */
  readonly fillHistoryLimit?: number;
  readonly onError?: PaperVenueHubOptions['onError'];
}

export function paperHubOptionsFromConfig(options: PaperHubFromConfigOptions): PaperVenueHubOptions {
  const setups: PaperVenueSetup[] = [];
  const accounts: PaperAccountSetup[] = [];
  const rules = options.rules ?? {};
  for (const [venueId, venue] of Object.entries(options.venues)) {
    if (!isPaperVenueSection(venue)) continue;
    const path = `venues.${venueId}`;
    const rule = rules[venueId] ?? {};
    const preset = venue.preset ?? venueId;
    const presetInstruments = resolvePaperVenueConfig({ venueId, preset }, path).instruments;
    const { instruments: instrumentRules, funding: fundingRules, ...scalarRules } = rule;
    // Instruments beyond the preset's that the sim's catalog knows: listed when followed.
    const catalogListed = venue.instruments
      .filter((id) => !presetInstruments.some((spec) => spec.instrumentId === id))
      .flatMap((id) => catalogInstrument(id)?.spec ?? []);
    const overrides: PaperVenueOverrides = {
      ...(options.paper.closedOrderRetention === undefined
        ? {}
        : { closedOrderRetention: options.paper.closedOrderRetention }),
      ...scalarRules,
      ...(venue.makerFeeRate === undefined ? {} : { makerFeeRate: venue.makerFeeRate }),
      ...(venue.takerFeeRate === undefined ? {} : { takerFeeRate: venue.takerFeeRate }),
      funding: {
        ...fundingRules,
        ...(venue.fundingInterval === undefined ? {} : { intervalMs: venue.fundingInterval }),
      },
      ...(instrumentRules === undefined && catalogListed.length === 0
        ? {}
        : {
            instruments: [
              ...presetInstruments.map((spec) => ({ ...spec, ...instrumentRules?.[spec.instrumentId] })),
              ...catalogListed.map((spec) => ({ ...spec, ...instrumentRules?.[spec.instrumentId] })),
              ...Object.entries(instrumentRules ?? {})
                .filter(([id]) => !presetInstruments.some((spec) => spec.instrumentId === id))
                .filter(([id]) => !catalogListed.some((spec) => spec.instrumentId === id))
                .map(([instrumentId, spec]) => ({ ...spec, instrumentId })),
            ],
          }),
    };
    const setup: PaperVenueSetup = { venueId, preset, overrides };
    // Validate now, so the error names the config path rather than a list index.
    const listed = resolvePaperVenueConfig(setup, path).instruments.map((i) => i.instrumentId);
    venue.instruments.forEach((instrument, n) => {
      if (!listed.includes(instrument)) {
        throw new ValidationError(
          `${path}.instruments[${n}]`,
          `${instrument} is not listed on paper venue ${venueId} (${listed.join(', ')})`,
        );
      }
    });
    setups.push(setup);
    for (const [accountId, account] of Object.entries(venue.accounts)) {
      const field = `${path}.accounts.${accountId}.paperDeposit`;
      if (account.paperDeposit === undefined) {
        throw new ValidationError(
          field,
          'is required on a paper venue: the collateral (> 0) the account starts with',
        );
      }
      if (!parseDecimal(account.paperDeposit, field).gt(0)) {
        throw new ValidationError(field, `must be > 0, got ${account.paperDeposit}`);
      }
      const apiKeyId = parseApiKeyId(account.apiKeyId, `${path}.accounts.${accountId}.apiKeyId`);
      accounts.push({ venueId, accountId, deposit: account.paperDeposit, apiKeyId });
    }
  }
  const fillHistoryLimit = options.fillHistoryLimit ?? options.paper.fillHistoryLimit;
  return {
    seed: options.paper.seed,
    clock: options.clock ?? { kind: 'realtime', tickIntervalMs: options.paper.stepInterval },
    ...(options.startMs === undefined ? {} : { startMs: options.startMs }),
    ...(setups.length === 0 ? {} : { venues: setups }),
    accounts,
    ...(fillHistoryLimit === undefined ? {} : { fillHistoryLimit }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
}
