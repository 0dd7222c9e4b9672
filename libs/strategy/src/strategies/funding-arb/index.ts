/** The funding-arbitrage strategy: its config, arb book, carry math and decider. */
export {
  ARB_PHASES,
  type Arb,
  type ArbLeg,
  type ArbPhase,
  arbAttribution,
  type FundingArbState,
  type LegMarks,
  legSize,
} from './arb-book.js';
export { breakEvenHours, commonLotSize, settlementsWithin } from './carry.js';
export { type FundingArbConfig, fundingArbConfigSchema, parseFundingArbConfig } from './config.js';
export { fundingArbDecider } from './decider.js';
export {
  type ArbExposure,
  arbExposures,
  type SettleConversion,
  settleConversion,
} from './exposures.js';
