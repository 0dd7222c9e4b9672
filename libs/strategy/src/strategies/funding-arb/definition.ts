/**
 * Funding-rate arbitrage as the registry sees it: config kind `funding_arb`; it trades
 * every listed venue account and reads every listed instrument on every listed venue.
 */

import type { StrategyDefinition } from '../../registry.js';
import { arbExposures } from './exposures.js';
import {
  type FundingArbConfig,
  type FundingArbState,
  fundingArbDecider,
  parseFundingArbConfig,
} from './index.js';

export const fundingArbStrategy: StrategyDefinition<FundingArbConfig, FundingArbState> = {
  kind: 'funding_arb',
  parseConfig: parseFundingArbConfig,
  makeDecider: fundingArbDecider,
  accounts: (c) => c.venues.map((v) => ({ venue: v.venue, account: v.account })),
  // Each venue reads its own leg of every exposure (the same instrument unless `exposures`).
  markets: (c) =>
    arbExposures(c).flatMap((e) =>
      c.venues.flatMap((v) => (e.legs[v.venue] ? [{ venue: v.venue, instrument: e.legs[v.venue]! }] : [])),
    ),
};
