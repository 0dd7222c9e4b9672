/**
 * The `emulators` config section: `perpmesh start` (embedded mode) runs the local venue
 * emulators (libs/emulators) in process, so `PERPMESH_CONFIG=config/emulated.yaml make run`
 * is the whole rehearsal of the real ccxt code path in one command.
 *
 * The component starts before the venues and stops after them. It hands the venues the
 * emulators' test credentials through the environment variables the YAML's
 * `{ env: NAME }` references name (credentials are read only when the venues open), so
 * no key is ever written in the config.
 */
import {
  EMULATOR_CREDENTIALS,
  type RunningRehearsalEmulators,
  startRehearsalEmulators,
} from '@perpmesh/emulators';
import type { Logger, ServiceComponent } from '@perpmesh/runtime';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

export const emulatorsSectionSchema = z
  .strictObject({
    /** Run the emulators with the system (embedded mode only). */
    start: z.boolean().default(false),
    /** Seed of the emulators' synthetic market. */
    seed: z.number().int().default(42),
    binanceusdm: z.strictObject({ port: port.default(4100) }).prefault({}),
    hyperliquid: z.strictObject({ port: port.default(4200) }).prefault({}),
    /** Lighter; its port is a free one unless named (configs that trade Lighter name 4300). */
    lighter: z.strictObject({ port: port.default(0) }).prefault({}),
    /** Also run an emulated Extended (absent: not run). */
    extended: z.strictObject({ port: port.default(4400) }).optional(),
  })
  .prefault({});
export type EmulatorsSection = z.output<typeof emulatorsSectionSchema>;

/** The venue ids the rehearsal emulators stand in for (what the logs call emulated). */
export const EMULATED_VENUES = ['binanceusdm', 'hyperliquid', 'lighter'] as const;

export function emulatorsComponent(section: EmulatorsSection, logger: Logger): ServiceComponent {
  let running: RunningRehearsalEmulators | undefined;
  return {
    name: 'emulators',
    start: async () => {
      running = await startRehearsalEmulators({
        seed: section.seed,
        binanceusdmPort: section.binanceusdm.port,
        hyperliquidPort: section.hyperliquid.port,
        lighterPort: section.lighter.port,
        ...(section.extended === undefined ? {} : { extendedPort: section.extended.port }),
      });
      // Only where the config does not say otherwise: an operator's own value wins.
      for (const [name, value] of Object.entries(EMULATOR_CREDENTIALS)) {
        process.env[name] ??= value;
      }
      const emulated = [...EMULATED_VENUES, ...(running.extended ? ['extended'] : [])];
      logger.info(
        {
          emulated,
          binanceusdm: running.binanceusdm.url,
          hyperliquid: running.hyperliquid.url,
          wallet: running.hyperliquid.wallet,
          lighter: running.lighter.url,
          ...(running.extended ? { extended: running.extended.url } : {}),
        },
        `venues ${emulated.join(', ')} are EMULATED (local servers, simulated money)`,
      );
    },
    stop: async () => {
      await running?.close();
      running = undefined;
    },
  };
}
