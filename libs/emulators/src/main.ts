/**
 * Runs the venue emulators over one seeded synthetic market (libs/sim SimWorld), on fixed
 * 127.0.0.1 ports, for a rehearsal of the real ccxt code path:
 *
 *   node libs/emulators/dist/main.js -- env PERPMESH_CONFIG=config/emulated.yaml make run
 *
 * Everything after `--` is started with the emulators' test credentials in its
 * environment (the variables config/emulated.yaml reads) and the emulators stop when it
 * exits. Without `--` the emulators run until Ctrl-C. Ports: BINANCEUSDM_EMULATOR_PORT
 * (default 4100), HYPERLIQUID_EMULATOR_PORT (4200), LIGHTER_EMULATOR_PORT (4300),
 * EXTENDED_EMULATOR_PORT (set to run an emulated Extended too); EMULATOR_SEED (42).
 *
 * The emulators themselves: rehearsal.ts (also what `perpmesh start` runs for an
 * `emulators` config section, the one-command way).
 */
import { spawn } from 'node:child_process';
import { EMULATOR_CREDENTIALS, startRehearsalEmulators } from './rehearsal.js';

export { EMULATOR_CREDENTIALS };

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  const command = dash < 0 ? [] : args.slice(dash + 1);
  const emulators = await startRehearsalEmulators({
    seed: Number(process.env.EMULATOR_SEED ?? 42),
    binanceusdmPort: Number(process.env.BINANCEUSDM_EMULATOR_PORT ?? 4100),
    hyperliquidPort: Number(process.env.HYPERLIQUID_EMULATOR_PORT ?? 4200),
    lighterPort: Number(process.env.LIGHTER_EMULATOR_PORT ?? 4300),
    ...(process.env.EXTENDED_EMULATOR_PORT
      ? { extendedPort: Number(process.env.EXTENDED_EMULATOR_PORT) }
      : {}),
  });
  const { binanceusdm, hyperliquid } = emulators;
  const wallet = hyperliquid.wallet;
  console.log(`emulated binanceusdm: ${binanceusdm.url} (ws ${binanceusdm.wsUrl})`);
  console.log(`emulated hyperliquid: ${hyperliquid.url} (ws ${hyperliquid.wsUrl}), wallet ${wallet}`);
  console.log(`emulated lighter: ${emulators.lighter.url} (ws ${emulators.lighter.wsUrl})`);
  if (emulators.extended)
    console.log(`emulated extended: ${emulators.extended.url} (ws ${emulators.extended.wsUrl})`);
  const stop = () => emulators.close();
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
