/**
 * The one config parser of the market-data service.
 *
 * Shared sections: `venues.<id>.instruments` (what is followed; every shard reads the same
 * list and takes its part), `venues.<id>.accounts` (the first account of a paper venue is
 * the one market data is read through), `paper.address` (the paper-venue service).
 * Its own section, `marketData`:
 *   grpcHost (127.0.0.1), grpcPort (50053)   MarketDataService, health, reflection
 *   http.host (127.0.0.1), http.port (9103)  /healthz /readyz /metrics
 *   instance                               envelope source `market-data/<instance>` (default: shard index)
 *   shard: { index: 0, count: 1 }          this replica follows the (venue, instrument) pairs
 *                                          whose stable hash mod count is index (libs/market-data shard.ts)
 *   leases: { enabled: false, ttl: 5s, renewInterval: 1s, maxReplicas: 16 }
 *                                          instead of shard: the replicas divide the pairs through
 *                                          leases in Redis (libs/market-data leases.ts); needs Redis
 *     leases.advertiseAddress (grpcHost:grpcPort)  where other replicas forward queries for our pairs
 *     leases.forwardTimeout (2s)             bound of one forwarded query (routing.ts)
 *   bookDepth (20)                         levels per side in md.book and GetOrderBook
 *   bookPublishInterval (100ms)            md.book conflation per book: a change after a quiet interval goes
 *                                          out at once, changes inside it leave as one publish at its end
 *   bookPublishIntervalOverrides ([])      [{ venue, instrument?, interval }]: another interval for a venue's
 *                                          books or one book (e.g. 0ms for a latency strategy's books)
 *   bookStaleAfter (60s), fundingStaleAfter (10m)   when GetOrderBook / GetFundingRates say `stale`
 *   fundingPollInterval (60s)              funding fetched for venues that do not stream it (0 = off)
 *   resyncDepth (1000)                     levels fetched to resync a book after a gap
 *   venueCallTimeout (5s)                  deadline of each call to the paper-venue service
 */
import { DEFAULT_MARKET_DATA_HTTP_PORT, marketDataSectionFields } from '@perpmesh/market-data';
import { serviceConfigSchema } from '@perpmesh/runtime';
import { venueConfigShape } from '@perpmesh/venues';
import type { z } from 'zod';

export {
  DEFAULT_MARKET_DATA_GRPC_PORT,
  DEFAULT_MARKET_DATA_HTTP_PORT,
  MARKET_DATA_SERVICE,
} from '@perpmesh/market-data';

export const marketDataConfigSchema = serviceConfigSchema('marketData', marketDataSectionFields, {
  defaultHttpPort: DEFAULT_MARKET_DATA_HTTP_PORT,
}).extend(venueConfigShape);

export type MarketDataServiceConfigFile = z.output<typeof marketDataConfigSchema>;
