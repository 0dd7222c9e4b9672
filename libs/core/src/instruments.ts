/**
 * Instrument and venue ids, and the one mapping between our instrument ids and ccxt
 * symbols. Every other lib goes through here; nothing else parses `BTC/USDC:USDC`.
 *
 * - Linear perpetual: `BASE-QUOTE-PERP`, where QUOTE is the settle (margin) currency.
 *   ccxt `BTC/USDC:USDC` <-> `BTC-USDC-PERP`.
 * - Spot: `BASE-QUOTE`. ccxt `ETH/USDT` <-> `ETH-USDT`.
 *
 * Ids appear in NATS subjects (`md.book.{venue}.{instrument}`) and Redis keys, so they
 * are made of subject-safe characters only. Currency codes keep the venue's case
 * (`kPEPE` on Hyperliquid is not `KPEPE`) and may not contain `-`, our separator.
 *
 * Supported: linear perps and spot. Inverse perps (settled in the base coin), dated
 * futures, options and quanto contracts are rejected with `UnsupportedInstrumentError`.
 */
import { PerpmeshError, ValidationError } from './errors.js';
import type { InstrumentId, VenueId } from './types.js';

export type InstrumentKind = 'perp' | 'spot';

export interface Instrument {
  readonly id: InstrumentId;
  readonly base: string;
  readonly quote: string;
  /** Currency PnL, margin and fees settle in. For linear perps and spot it equals `quote`. */
  readonly settle: string;
  readonly kind: InstrumentKind;
}

/** A well-formed market we deliberately do not trade (inverse, dated, option, quanto). */
export class UnsupportedInstrumentError extends PerpmeshError {
  readonly field: string;
  readonly value: string;
  constructor(field: string, value: string, reason: string) {
    super('UNSUPPORTED_INSTRUMENT', `${field}: ${JSON.stringify(value)} is not supported: ${reason}`);
    this.field = field;
    this.value = value;
  }
}

const PERP_SUFFIX = 'PERP';
const MAX_CURRENCY_LENGTH = 32;
const CURRENCY_CODE = /^[A-Za-z0-9]+$/;

/**
 * Currencies a USD-quoted venue may settle in, where we name the instrument by its
 * settle currency (Lighter and Extended quote `BTC` in USD and settle in USDC). Any other
 * quote/settle mismatch is a quanto contract, whose PnL is not `(exit - entry) * size`.
 */
const USD_SETTLE_CURRENCIES: ReadonlySet<string> = new Set(['USDC', 'USDT', 'USDE', 'USDH', 'DAI', 'FDUSD']);

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `a ${typeof value}`;
}

/** Validates a currency code (`BTC`, `USDC`, `1000PEPE`, `kPEPE`). */
export function parseCurrencyCode(value: unknown, field: string): string {
  if (typeof value !== 'string' || !CURRENCY_CODE.test(value) || value.length > MAX_CURRENCY_LENGTH) {
    throw new ValidationError(
      field,
      `currency code must be 1-${MAX_CURRENCY_LENGTH} letters or digits, got ${describe(value)}`,
    );
  }
  return value;
}

/** Builds a validated instrument from its parts. */
export function makeInstrument(
  parts: { base: string; quote: string; kind: InstrumentKind },
  field = 'instrument',
): Instrument {
  const base = parseCurrencyCode(parts.base, `${field}.base`);
  const quote = parseCurrencyCode(parts.quote, `${field}.quote`);
  if (base === quote) {
    throw new ValidationError(field, `base and quote must differ, got ${JSON.stringify(base)} twice`);
  }
  if (parts.kind === 'spot' && quote === PERP_SUFFIX) {
    // `BTC-PERP` reads as a perpetual but would parse as spot BTC quoted in "PERP".
    throw new ValidationError(
      field,
      `${JSON.stringify(`${base}-${quote}`)} is ambiguous: a perpetual needs its quote, e.g. ${base}-USDC-PERP`,
    );
  }
  if (parts.kind !== 'perp' && parts.kind !== 'spot') {
    throw new ValidationError(`${field}.kind`, `must be "perp" or "spot", got ${describe(parts.kind)}`);
  }
  const id = parts.kind === 'perp' ? `${base}-${quote}-${PERP_SUFFIX}` : `${base}-${quote}`;
  return Object.freeze({ id, base, quote, settle: quote, kind: parts.kind });
}

/** Parses and validates an instrument id (`BTC-USDC-PERP`, `ETH-USDT`); the error names `field`. */
export function parseInstrument(value: unknown, field = 'instrument'): Instrument {
  if (typeof value !== 'string') {
    throw new ValidationError(field, `instrument id must be a string, got ${describe(value)}`);
  }
  const parts = value.split('-');
  const expected = 'expected BASE-QUOTE-PERP (linear perp) or BASE-QUOTE (spot)';
  if (parts.length === 3 && parts[2] === PERP_SUFFIX) {
    return withField(field, value, () =>
      makeInstrument({ base: parts[0]!, quote: parts[1]!, kind: 'perp' }, field),
    );
  }
  if (parts.length === 2) {
    return withField(field, value, () =>
      makeInstrument({ base: parts[0]!, quote: parts[1]!, kind: 'spot' }, field),
    );
  }
  throw new ValidationError(field, `${expected}, got ${JSON.stringify(value)}`);
}

// The part validators name `instrument.base`; a bad id should also show the whole id.
function withField(field: string, value: string, build: () => Instrument): Instrument {
  try {
    return build();
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new ValidationError(field, `invalid instrument id ${JSON.stringify(value)}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Validates an instrument id and returns it unchanged (for config and wire fields). */
export function parseInstrumentId(value: unknown, field = 'instrument'): InstrumentId {
  return parseInstrument(value, field).id;
}

export function isInstrumentId(value: unknown): value is InstrumentId {
  try {
    parseInstrument(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Maps a ccxt unified symbol to our instrument.
 * - `BTC/USDC:USDC` -> `BTC-USDC-PERP`; `ETH/USDT` -> `ETH-USDT`.
 * - `BTC/USD:USDC` (USD-quoted, USDC-settled) -> `BTC-USDC-PERP`: named by settle currency.
 * - `BTC/USD:BTC` (inverse), `BTC/USDT:USDT-250328` (dated future), options: rejected.
 */
export function instrumentFromCcxtSymbol(symbol: unknown, field = 'symbol'): Instrument {
  if (typeof symbol !== 'string') {
    throw new ValidationError(field, `ccxt symbol must be a string, got ${describe(symbol)}`);
  }
  const match = /^([^/:]+)\/([^/:]+)(?::(.+))?$/.exec(symbol);
  if (!match) {
    throw new ValidationError(
      field,
      `expected a ccxt symbol like BTC/USDC:USDC or ETH/USDT, got ${JSON.stringify(symbol)}`,
    );
  }
  const [, baseText, quoteText, settleText] = match;
  const base = parseCurrencyCode(baseText, `${field}.base`);
  const quote = parseCurrencyCode(quoteText, `${field}.quote`);
  if (settleText === undefined) return makeInstrument({ base, quote, kind: 'spot' }, field);
  if (settleText.includes('-')) {
    // ccxt appends the expiry (and strike/type for options) after the settle currency.
    const kind = /-[CP]$/.test(settleText) ? 'options' : 'dated futures';
    throw new UnsupportedInstrumentError(
      field,
      symbol,
      `${kind}; only linear perpetuals and spot are supported`,
    );
  }
  const settle = parseCurrencyCode(settleText, `${field}.settle`);
  if (settle === quote) return makeInstrument({ base, quote, kind: 'perp' }, field);
  if (settle === base) {
    throw new UnsupportedInstrumentError(
      field,
      symbol,
      `inverse contract (settled in ${base}); only linear perpetuals and spot are supported`,
    );
  }
  if (quote === 'USD' && USD_SETTLE_CURRENCIES.has(settle)) {
    return makeInstrument({ base, quote: settle, kind: 'perp' }, field);
  }
  throw new UnsupportedInstrumentError(
    field,
    symbol,
    `quanto contract (quoted in ${quote}, settled in ${settle})`,
  );
}

/**
 * The canonical ccxt symbol of an instrument: `BTC-USDC-PERP` -> `BTC/USDC:USDC`.
 * A venue whose ccxt symbol differs (USD-quoted, `BTC/USD:USDC`) is resolved through
 * `indexCcxtSymbols` over that venue's loaded markets, not by this function.
 */
export function ccxtSymbolFromInstrument(
  instrument: InstrumentId | Instrument,
  field = 'instrument',
): string {
  const parsed = typeof instrument === 'string' ? parseInstrument(instrument, field) : instrument;
  return parsed.kind === 'perp'
    ? `${parsed.base}/${parsed.quote}:${parsed.settle}`
    : `${parsed.base}/${parsed.quote}`;
}

/**
 * The instrument of a venue market that names only the base coin (Lighter `BTC`), given
 * the currency the venue settles in. Always a linear perpetual.
 */
export function instrumentFromVenueMarket(base: string, settle: string, field = 'market'): Instrument {
  return makeInstrument(
    {
      base: parseCurrencyCode(base, `${field}.base`),
      quote: parseCurrencyCode(settle, `${field}.settle`),
      kind: 'perp',
    },
    field,
  );
}

export interface CcxtSymbolIndex {
  readonly instrumentBySymbol: ReadonlyMap<string, Instrument>;
  readonly symbolByInstrument: ReadonlyMap<InstrumentId, string>;
  /** Symbols left out, each with why (unsupported kind, malformed, or a duplicate of a better match). */
  readonly skipped: ReadonlyArray<{ symbol: string; reason: string }>;
}

/**
 * Indexes a venue's ccxt symbols (its loaded markets) both ways. When two symbols map to
 * the same instrument (`BTC/USDC:USDC` and `BTC/USD:USDC`), the canonical one wins.
 */
export function indexCcxtSymbols(symbols: Iterable<string>): CcxtSymbolIndex {
  const instrumentBySymbol = new Map<string, Instrument>();
  const symbolByInstrument = new Map<InstrumentId, string>();
  const skipped: { symbol: string; reason: string }[] = [];
  for (const symbol of symbols) {
    let instrument: Instrument;
    try {
      instrument = instrumentFromCcxtSymbol(symbol);
    } catch (error) {
      if (error instanceof PerpmeshError) {
        skipped.push({ symbol, reason: error.message });
        continue;
      }
      throw error;
    }
    const existing = symbolByInstrument.get(instrument.id);
    if (existing !== undefined) {
      const canonical = ccxtSymbolFromInstrument(instrument);
      const [keep, drop] = symbol === canonical ? [symbol, existing] : [existing, symbol];
      if (keep !== existing) instrumentBySymbol.delete(existing);
      skipped.push({ symbol: drop, reason: `duplicate of ${keep} for ${instrument.id}` });
      if (keep === existing) continue;
    }
    instrumentBySymbol.set(symbol, instrument);
    symbolByInstrument.set(instrument.id, symbol);
  }
  return { instrumentBySymbol, symbolByInstrument, skipped };
}

// ---------------------------------------------------------------------------------------
// Venue ids and subject tokens

const VENUE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_VENUE_ID_LENGTH = 64;
export const PAPER_VENUE: VenueId = 'paper';

/** Validates a venue id: a ccxt id (`binanceusdm`, `okx`), `paper` or `paper-<name>`. */
export function parseVenueId(value: unknown, field = 'venue'): VenueId {
  if (typeof value !== 'string' || value.length > MAX_VENUE_ID_LENGTH || !VENUE_ID.test(value)) {
    throw new ValidationError(
      field,
      `venue id must be lowercase letters, digits and single dashes (e.g. "okx", "paper-lighter"), got ${describe(value)}`,
    );
  }
  return value;
}

export function isVenueId(value: unknown): value is VenueId {
  return typeof value === 'string' && value.length <= MAX_VENUE_ID_LENGTH && VENUE_ID.test(value);
}

/** True for the built-in simulated venues: `paper` and `paper-<name>`. */
export function isPaperVenue(venue: VenueId): boolean {
  return venue === PAPER_VENUE || (venue.startsWith(`${PAPER_VENUE}-`) && isVenueId(venue));
}

const MAX_SUBJECT_TOKEN_LENGTH = 128;
// `.` separates tokens, `*` and `>` are wildcards; whitespace and control characters
// split or corrupt the protocol line. Non-ASCII is allowed by NATS but not by us.
const SUBJECT_TOKEN = /^[\x21-\x7e]+$/;
const SUBJECT_SPECIAL = /[.*>]/;

export function isSubjectToken(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= MAX_SUBJECT_TOKEN_LENGTH &&
    SUBJECT_TOKEN.test(value) &&
    !SUBJECT_SPECIAL.test(value)
  );
}

/** Checks that `value` can be one token of a NATS subject: no `.`, `*`, `>`, spaces or control characters. */
export function assertSubjectToken(value: unknown, field: string): string {
  if (!isSubjectToken(value)) {
    throw new ValidationError(
      field,
      `must be 1-${MAX_SUBJECT_TOKEN_LENGTH} printable ASCII characters without ".", "*", ">" or spaces, got ${describe(value)}`,
    );
  }
  return value;
}
