/**
 * Runs the venue emulators over one seeded synthetic market (libs/sim SimWorld), on fixed
 * 127.0.0.1 ports, for a rehearsal of the real ccxt code path:
 *
 *   node libs/emulators/dist/main.js -- env PERPMESH_CONFIG=config/emulated.yaml make run
 *
 * Everything after `--` is started with the emulators' test credentials in its
 * environment (the variables config/emulated.yaml reads) and the emulators stop when it
 * exits. Without `--` the emulators run until Ctrl-C. Ports: BINANCEUSDM_EMULATOR_PORT
 * (default 4100), HYPERLIQUID_EMULATOR_PORT (4200); EMULATOR_SEED (42).
 *
 * The credentials are the emulators' own, printed here on purpose: they open nothing but
 * these local servers.
 */
import { spawn } from 'node:child_process';
import { defaultWorldConfig, SimWorld } from '@perpmesh/sim';
import { binanceusdmSimConfig } from './binanceusdm/config.js';
import { BinanceUsdmEmulator } from './binanceusdm/emulator.js';
import { hyperliquidSimConfig } from './hyperliquid/config.js';
import { HyperliquidEmulator } from './hyperliquid/emulator.js';
import { addressOf } from './hyperliquid/signing.js';
import { worldMarkets } from './shared/market.js';

export const EMULATOR_CREDENTIALS = {
  BINANCE_EMULATOR_API_KEY: 'emulated-binance-key',
  BINANCE_EMULATOR_SECRET: 'emulated-binance-secret',
  HYPERLIQUID_EMULATOR_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
} as const;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  const command = dash < 0 ? [] : args.slice(dash + 1);
  const seed = Number(process.env.EMULATOR_SEED ?? 42);
  const template = defaultWorldConfig({ seed, startMs: Date.now(), venueIds: ['paper'] });
  const params = template.venues[0];
  if (params === undefined) throw new Error('emulators: the default world has no venue template');
  // Marks apart by more than the funding clamp (±0.05% around the interest rate), so the
  // venues' per-hour funding really differs: Binance pays shorts' side below index, the
  // Hyperliquid mark sits above it. A rehearsal market, not a forecast.
  const world = new SimWorld({
    ...template,
    venues: [
      {
        ...params,
        config: binanceusdmSimConfig('binanceusdm', 'USDC'),
        defaultBasis: { ...params.defaultBasis, mean: -0.001 },
      },
      {
        ...params,
        config: hyperliquidSimConfig('hyperliquid'),
        defaultBasis: { ...params.defaultBasis, mean: 0.0015 },
      },
    ],
  });
  const market = worldMarkets(world);
  const binance = new BinanceUsdmEmulator({
    market: market('binanceusdm'),
    apiKeys: [
      {
        apiKey: EMULATOR_CREDENTIALS.BINANCE_EMULATOR_API_KEY,
        secret: EMULATOR_CREDENTIALS.BINANCE_EMULATOR_SECRET,
        accountId: 'main',
        deposit: '100000',
      },
    ],
    port: Number(process.env.BINANCEUSDM_EMULATOR_PORT ?? 4100),
  });
  const wallet = addressOf(EMULATOR_CREDENTIALS.HYPERLIQUID_EMULATOR_PRIVATE_KEY.slice(2));
  const hyperliquid = new HyperliquidEmulator({
    market: market('hyperliquid'),
    users: [{ address: wallet, accountId: 'main', deposit: '100000' }],
    port: Number(process.env.HYPERLIQUID_EMULATOR_PORT ?? 4200),
  });
  const binanceUrl = await binance.start();
  const hyperliquidUrl = await hyperliquid.start();
  console.log(`emulated binanceusdm: ${binanceUrl} (ws ${binance.wsUrl})`);
  console.log(`emulated hyperliquid: ${hyperliquidUrl} (ws ${hyperliquid.wsUrl}), wallet ${wallet}`);
  const stop = async () => {
    await Promise.allSettled([binance.close(), hyperliquid.close()]);
  };
  if (command.length === 0) {
    process.once('SIGINT', () => void stop().then(() => process.exit(0)));
    process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
    return;
  }
  // Its own process group: a Ctrl-C or a group-wide SIGTERM reaches it once, through us.
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, ...EMULATOR_CREDENTIALS, HYPERLIQUID_EMULATOR_WALLET: wallet },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => child.kill(signal));
  child.on('exit', (code) => void stop().then(() => process.exit(code ?? 1)));
}

main().catch((err) => {
  console.error(`emulators: ${(err as Error).message}`);
  process.exit(1);
});
