/**
 * Funding-rate arbitrage as the registry sees it: config kind `funding_arb`; it trades
 * every listed venue account and reads every listed instrument on every listed venue.
 */

import type { StrategyDefinition } from '../../registry.js';
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
  markets: (c) =>
    c.instruments.flatMap((instrument) => c.venues.map((v) => ({ venue: v.venue, instrument }))),
};
