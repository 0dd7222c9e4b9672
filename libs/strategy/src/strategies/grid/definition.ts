/** The grid strategy as the registry sees it: config kind `grid`, one venue account, one market. */
import type { StrategyDefinition } from '../../registry.js';
import { type GridConfig, type GridState, gridDecider, parseGridConfig } from './decider.js';

export const gridStrategy: StrategyDefinition<GridConfig, GridState> = {
  kind: 'grid',
  parseConfig: parseGridConfig,
  makeDecider: gridDecider,
  accounts: (c) => [{ venue: c.venue, account: c.account }],
  markets: (c) => [{ venue: c.venue, instrument: c.instrument }],
};
