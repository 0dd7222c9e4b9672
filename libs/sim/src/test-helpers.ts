/** Helpers shared by this lib's tests (not exported from index.ts). */
import { Decimal, type DecimalInput } from '@perpmesh/core';
import type { VenueConfigInput } from './config.js';
import { SimExchange } from './exchange.js';
import type { FillEvent, OrderView, PlaceOrderResult, SimEvent } from './index.js';
import { venuePreset } from './presets.js';

export const BTC = 'BTC-USDC-PERP';
export const ETH = 'ETH-USDC-PERP';

/** A venue from a preset with prices set: BTC mark = index = `btcMark`, ETH 3000. */
export function venue(
  presetId = 'paper',
  options: { btcMark?: DecimalInput; startMs?: number; overrides?: VenueConfigInput } = {},
): SimExchange {
  const ex = new SimExchange(venuePreset(presetId, options.overrides ?? {}), {
    startMs: options.startMs ?? 0,
  });
  const btc = new Decimal((options.btcMark ?? '50000').toString());
  ex.setPrices(BTC, { markPrice: btc, indexPrice: btc });
  ex.setPrices(ETH, { markPrice: '3000', indexPrice: '3000' });
  ex.drainEvents();
  return ex;
}

export function ok(result: PlaceOrderResult): OrderView {
  if (!result.ok) throw new Error(`expected the order to be accepted, got ${result.reject.message}`);
  return result.order;
}

export function fills(events: readonly SimEvent[], accountId?: string): FillEvent[] {
  return events.filter(
    (e): e is FillEvent => e.type === 'fill' && (accountId === undefined || e.accountId === accountId),
  );
}

export function d(value: DecimalInput): Decimal {
  return new Decimal(value.toString());
}
