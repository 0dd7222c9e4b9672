/**
 * The scalper as the registry sees it: config kind `scalper`; it trades the follower's
 * account and reads both the leader's and the follower's market.
 */
import type { StrategyDefinition } from '../../registry.js';
import { parseScalperConfig, type ScalperConfig, type ScalperState, scalperDecider } from './decider.js';

export const scalperStrategy: StrategyDefinition<ScalperConfig, ScalperState> = {
  kind: 'scalper',
  parseConfig: parseScalperConfig,
  makeDecider: scalperDecider,
  accounts: (c) => [{ venue: c.follower.venue, account: c.follower.account }],
  markets: (c) => [
    { venue: c.leader.venue, instrument: c.leader.instrument },
    { venue: c.follower.venue, instrument: c.follower.instrument },
  ],
};
