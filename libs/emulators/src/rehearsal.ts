/**
 * The rehearsal emulators: emulated Binance USD-M (USDT-settled BTCUSDT / ETHUSDT),
 * Hyperliquid (USDC), Lighter (USDC) and, when asked, Extended (USDC) over one seeded
 * synthetic market (libs/sim SimWorld), each with one funded test account: the funding arb
 * between Binance and Hyperliquid is USDT vs USDC, through the exposure equivalence of
 * config/emulated.yaml. One home for
 * both ways to run them: the standalone runner (main.ts) and `perpmesh start` with an
 * `emulators` config section (libs/cli).
 *
 * The credentials are the emulators' own, public on purpose: they open nothing but these
 * local servers.
 */

import { LighterPrivateKey, StarkSigner } from '@perpmesh/signing';
import { defaultWorldConfig, SimWorld } from '@perpmesh/sim';
import { binanceusdmSimConfig } from './binanceusdm/config.js';
import { BinanceUsdmEmulator } from './binanceusdm/emulator.js';
import { extendedSimConfig } from './extended/config.js';
import { ExtendedEmulator } from './extended/emulator.js';
import { hyperliquidSimConfig } from './hyperliquid/config.js';
import { HyperliquidEmulator } from './hyperliquid/emulator.js';
import { addressOf } from './hyperliquid/signing.js';
import { lighterSimConfig } from './lighter/config.js';
import { LighterEmulator } from './lighter/emulator.js';
import { worldMarkets } from './shared/market.js';
import type { EmulatorServer } from './shared/server.js';

/** The environment variables config/emulated.yaml reads the accounts' credentials from. */
export const EMULATOR_CREDENTIALS = {
  BINANCE_EMULATOR_API_KEY: 'emulated-binance-key',
  BINANCE_EMULATOR_SECRET: 'emulated-binance-secret',
  HYPERLIQUID_EMULATOR_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
  LIGHTER_EMULATOR_API_PRIVATE_KEY: `0x${'2a'.repeat(40)}`,
  EXTENDED_EMULATOR_API_KEY: 'emulated-extended-key',
  EXTENDED_EMULATOR_STARK_PRIVATE_KEY: `0x${'2e'.repeat(31)}`,
} as const;

/**
 * A second funded account (`load`) on the emulated Binance and Hyperliquid, when asked
 * (`loadAccount`): traffic of its own beside the `main` account's (the chaos suite's load
 * clients beside its arb). Test credentials, as above.
 */
export const EMULATOR_LOAD_CREDENTIALS = {
  BINANCE_EMULATOR_LOAD_API_KEY: 'emulated-binance-load-key',
  BINANCE_EMULATOR_LOAD_SECRET: 'emulated-binance-load-secret',
  HYPERLIQUID_EMULATOR_LOAD_PRIVATE_KEY: `0x${'12'.repeat(32)}`,
} as const;
/** The account id of the `loadAccount` (the venue config's account name). */
export const EMULATED_LOAD_ACCOUNT = 'load';

/**
 * The emulated Extended account's non-secret fields (`venues.<id>.accounts.<name>` takes them
 * in the config): its Stark public key (of the test private key above) and its vault.
 */
export const EXTENDED_EMULATOR_ACCOUNT = {
  starkPublicKey: `0x${new StarkSigner(EMULATOR_CREDENTIALS.EXTENDED_EMULATOR_STARK_PRIVATE_KEY).publicKey.toString(16)}`,
  vault: '100001',
} as const;

/** The emulated Lighter account and the API key its private key is registered under. */
export const EMULATED_LIGHTER_ACCOUNT = { accountIndex: 1, apiKeyIndex: 4 } as const;

/** The venues the rehearsal emulators stand in for, in the order their markets are made. */
export const REHEARSAL_VENUES = ['binanceusdm', 'hyperliquid', 'lighter', 'extended'] as const;
export type RehearsalVenue = (typeof REHEARSAL_VENUES)[number];

export interface EmulatorSetOptions {
  readonly seed: number;
  /** The emulators to run, each on its port (0 picks a free one); a venue absent is not run. */
  readonly ports: Readonly<Partial<Record<RehearsalVenue, number>>>;
  /**
   * The venues' clock runs this far ahead of ours (behind when negative), ms; one world, one
   * clock for every emulator of the set. Default 0.
   */
  readonly clockSkewMs?: number;
  /** Also fund the `load` account on Binance and Hyperliquid (`EMULATOR_LOAD_CREDENTIALS`). Default false. */
  readonly loadAccount?: boolean;
}

export interface RunningEmulator {
  readonly url: string;
  readonly wsUrl: string;
}

export interface RunningEmulatorSet {
  /** The emulators that run (the venues named in `ports`). */
  readonly venues: Readonly<Partial<Record<RehearsalVenue, RunningEmulator>>>;
  /** The emulated Hyperliquid account's wallet (of its test private key). */
  readonly hyperliquidWallet: string;
  /** Each running emulator's server by venue id: its fault injection and its exchange (the truth). */
  readonly servers: ReadonlyMap<RehearsalVenue, EmulatorServer>;
  close(): Promise<void>;
}

/**
 * Runs the emulators `ports` names, over one synthetic market made of just those venues
 * (an emulator nobody trades costs a server and the market's steps for nothing).
 */
export async function startEmulators(options: EmulatorSetOptions): Promise<RunningEmulatorSet> {
  const running = REHEARSAL_VENUES.filter((venue) => options.ports[venue] !== undefined);
  const portOf = (venue: RehearsalVenue): number => options.ports[venue] ?? 0;
  const wallet = addressOf(EMULATOR_CREDENTIALS.HYPERLIQUID_EMULATOR_PRIVATE_KEY.slice(2));
  const loadWallet = addressOf(EMULATOR_LOAD_CREDENTIALS.HYPERLIQUID_EMULATOR_LOAD_PRIVATE_KEY.slice(2));
  const clockSkewMs = options.clockSkewMs ?? 0;
  const load = options.loadAccount === true;
  if (running.length === 0)
    return { venues: {}, hyperliquidWallet: wallet, servers: new Map(), close: async () => {} };
  const template = defaultWorldConfig({
    seed: options.seed,
    startMs: Date.now() + clockSkewMs,
    venueIds: ['paper'],
  });
  const params = template.venues[0];
  if (params === undefined) throw new Error('emulators: the default world has no venue template');
  // The sim prices each instrument off its own index: the USDT perps get indices of their
  // own from the same starting prices. Both walk calmly (a fifth of the default volatility,
  // no jumps) so the USDT and USDC books stay within a few bps of each other, as the real
  // stablecoins do over a session; the arb's assumed 1 USDT = 1 USDC is what it states.
  const calm = template.indices.map((i) => ({
    ...i,
    volatilityPerSqrtHour: i.volatilityPerSqrtHour / 5,
    jumpsPerHour: 0,
  }));
  const indices = [...calm, ...calm.map((i) => ({ ...i, instrumentId: usdtTwin(i.instrumentId) }))];
  const binanceParams = {
    ...params,
    marketMaker: { ...params.marketMaker, levelSize: usdtKeys(params.marketMaker.levelSize) },
    noise: { ...params.noise, maxSize: usdtKeys(params.noise.maxSize) },
    insuranceUnwindSize: usdtKeys(params.insuranceUnwindSize),
  };
  // Marks apart by more than the funding clamp (±0.05% around the interest rate), so the
  // venues' per-hour funding really differs: Binance pays shorts' side below index, the
  // Hyperliquid mark sits above it, Extended's below it (its shorts pay, unlike
  // Hyperliquid's). A rehearsal market, not a forecast.
  const worldVenue = {
    binanceusdm: () => ({
      ...binanceParams,
      config: binanceusdmSimConfig('binanceusdm', 'USDT'),
      defaultBasis: { ...params.defaultBasis, mean: -0.001 },
    }),
    hyperliquid: () => ({
      ...params,
      config: hyperliquidSimConfig('hyperliquid'),
      defaultBasis: { ...params.defaultBasis, mean: 0.0015 },
    }),
    lighter: () => ({
      ...params,
      config: lighterSimConfig('lighter'),
      defaultBasis: { ...params.defaultBasis, mean: 0.0008 },
    }),
    extended: () => ({
      ...params,
      config: extendedSimConfig('extended'),
      defaultBasis: { ...params.defaultBasis, mean: -0.001 },
    }),
  } satisfies Record<RehearsalVenue, () => unknown>;
  const world = new SimWorld({
    ...template,
    indices,
    venues: running.map((venue) => worldVenue[venue]()),
  });
  const market = worldMarkets(world, clockSkewMs);
  const lighterKey = LighterPrivateKey.fromHex(EMULATOR_CREDENTIALS.LIGHTER_EMULATOR_API_PRIVATE_KEY);
  const emulatorOf = {
    binanceusdm: () =>
      new BinanceUsdmEmulator({
        market: market('binanceusdm'),
        apiKeys: [
          {
            apiKey: EMULATOR_CREDENTIALS.BINANCE_EMULATOR_API_KEY,
            secret: EMULATOR_CREDENTIALS.BINANCE_EMULATOR_SECRET,
            accountId: 'main',
            deposit: '100000',
          },
          ...(load
            ? [
                {
                  apiKey: EMULATOR_LOAD_CREDENTIALS.BINANCE_EMULATOR_LOAD_API_KEY,
                  secret: EMULATOR_LOAD_CREDENTIALS.BINANCE_EMULATOR_LOAD_SECRET,
                  accountId: EMULATED_LOAD_ACCOUNT,
                  deposit: '100000',
                },
              ]
            : []),
        ],
        port: portOf('binanceusdm'),
      }),
    hyperliquid: () =>
      new HyperliquidEmulator({
        market: market('hyperliquid'),
        users: [
          { address: wallet, accountId: 'main', deposit: '100000' },
          ...(load ? [{ address: loadWallet, accountId: EMULATED_LOAD_ACCOUNT, deposit: '100000' }] : []),
        ],
        port: portOf('hyperliquid'),
      }),
    lighter: () =>
      new LighterEmulator({
        market: market('lighter'),
        accounts: [
          {
            ...EMULATED_LIGHTER_ACCOUNT,
            accountId: 'main',
            deposit: '100000',
            apiKeys: [
              { apiKeyIndex: EMULATED_LIGHTER_ACCOUNT.apiKeyIndex, publicKeyHex: lighterKey.publicKeyHex },
            ],
          },
        ],
        port: portOf('lighter'),
      }),
    extended: () =>
      new ExtendedEmulator({
        market: market('extended'),
        accounts: [
          {
            apiKey: EMULATOR_CREDENTIALS.EXTENDED_EMULATOR_API_KEY,
            accountId: 'main',
            ...EXTENDED_EMULATOR_ACCOUNT,
            deposit: '100000',
          },
        ],
        port: portOf('extended'),
      }),
  } satisfies Record<RehearsalVenue, () => VenueEmulator>;
  const servers = running.map((venue) => [venue, emulatorOf[venue]()] as const);
  const close = async () => {
    await Promise.allSettled(servers.map(([, server]) => server.close()));
  };
  try {
    const venues: Partial<Record<RehearsalVenue, RunningEmulator>> = {};
    for (const [venue, server] of servers) {
      venues[venue] = { url: await server.start(), wsUrl: server.wsUrl };
    }
    return {
      venues,
      hyperliquidWallet: wallet,
      servers: new Map(servers.map(([venue, emulator]) => [venue, emulator.server])),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What every venue's emulator class offers. */
interface VenueEmulator {
  start(): Promise<string>;
  close(): Promise<void>;
  readonly wsUrl: string;
  readonly server: EmulatorServer;
}

export interface RehearsalEmulatorOptions {
  readonly seed: number;
  /** 0 picks a free port. */
  readonly binanceusdmPort: number;
  readonly hyperliquidPort: number;
  /** Default 0 (a free port). */
  readonly lighterPort?: number;
  /** Also run an emulated Extended on this port (0 = any free one); absent = not run. */
  readonly extendedPort?: number;
  /** As `EmulatorSetOptions.clockSkewMs`. */
  readonly clockSkewMs?: number;
  /** As `EmulatorSetOptions.loadAccount`. */
  readonly loadAccount?: boolean;
}

export interface RunningRehearsalEmulators {
  readonly binanceusdm: RunningEmulator;
  readonly hyperliquid: RunningEmulator & { readonly wallet: string };
  readonly lighter: RunningEmulator;
  /** Present when `extendedPort` was given. */
  readonly extended?: RunningEmulator;
  /** Each running emulator's server by venue id: its fault injection and its exchange (the truth). */
  readonly servers: ReadonlyMap<string, EmulatorServer>;
  close(): Promise<void>;
}

/** Binance, Hyperliquid and Lighter (and Extended when its port is given): the standalone runner's set. */
export async function startRehearsalEmulators(
  options: RehearsalEmulatorOptions,
): Promise<RunningRehearsalEmulators> {
  const set = await startEmulators({
    seed: options.seed,
    ports: {
      binanceusdm: options.binanceusdmPort,
      hyperliquid: options.hyperliquidPort,
      lighter: options.lighterPort ?? 0,
      ...(options.extendedPort === undefined ? {} : { extended: options.extendedPort }),
    },
    ...(options.clockSkewMs === undefined ? {} : { clockSkewMs: options.clockSkewMs }),
    ...(options.loadAccount === undefined ? {} : { loadAccount: options.loadAccount }),
  });
  const { binanceusdm, hyperliquid, lighter, extended } = set.venues;
  if (binanceusdm === undefined || hyperliquid === undefined || lighter === undefined) {
    await set.close();
    throw new Error('emulators: Binance, Hyperliquid and Lighter were asked for but did not all start');
  }
  return {
    binanceusdm,
    hyperliquid: { ...hyperliquid, wallet: set.hyperliquidWallet },
    lighter,
    ...(extended === undefined ? {} : { extended }),
    servers: set.servers,
    close: set.close,
  };
}

/** `BTC-USDC-PERP` -> `BTC-USDT-PERP`: the Binance USD-M twin of a USDC instrument of the template world. */
function usdtTwin(instrumentId: string): string {
  return instrumentId.replace(/-USDC-PERP$/, '-USDT-PERP');
}

function usdtKeys<V>(byInstrument: Readonly<Record<string, V>>): Record<string, V> {
  return Object.fromEntries(Object.entries(byInstrument).map(([id, v]) => [usdtTwin(id), v]));
}
