/** The funding-arbitrage strategy: its config, arb book, carry math and decider. */
export {
  ARB_PHASES,
  type Arb,
  type ArbLeg,
  type ArbPhase,
  type Attribution,
  arbAttribution,
  attributionOf,
  type FundingArbState,
  type FundingSettlement,
  type LegMarks,
  legPricePnl,
  legSize,
} from './arb-book.js';
export {
  type ArbBookReport,
  type ArbReport,
  arbBookReport,
  arbReport,
  type RaisedAlarm,
} from './arb-report.js';
export type { BreakerState } from './breaker.js';
export { breakEvenHours, commonLotSize, ratePerHourOf, settlementsWithin } from './carry.js';
export { type FundingArbConfig, fundingArbConfigSchema, parseFundingArbConfig } from './config.js';
export { fundingArbDecider } from './decider.js';
export {
  type ArbExposure,
  arbExposures,
  type SettleConversion,
  settleConversion,
} from './exposures.js';
export { type FundingReading, MAX_READINGS_PER_MARKET, type MarketReadings } from './funding-history.js';
