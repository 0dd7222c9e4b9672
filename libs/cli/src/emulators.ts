/**
 * The `emulators` config section: `perpmesh start` (embedded mode) runs, in process, the
 * local venue emulators (libs/emulators) that the config's venues use, so
 * `PERPMESH_CONFIG=config/emulated.yaml make run` is the whole rehearsal of the real ccxt
 * code path in one command.
 *
 * The component starts before the venues and stops after them. It hands the venues the
 * emulators' test credentials through the environment variables the YAML's
 * `{ env: NAME }` references name (credentials are read only when the venues open), so
 * no key is ever written in the config.
 */
// Types only here: the emulators (and the signers and simulator behind them) are loaded when
// the component starts, so a config without emulators never pays for loading them.
import type { RehearsalVenue, RunningEmulatorSet } from '@perpmesh/emulators';
import type { Logger, ServiceComponent } from '@perpmesh/runtime';
import { loopbackPort } from '@perpmesh/venues';
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
    /** Lighter; no port unless named (configs that trade Lighter name 4300). */
    lighter: z.strictObject({ port: port.default(0) }).prefault({}),
    /** Also offer an emulated Extended (absent: not run). */
    extended: z.strictObject({ port: port.default(4400) }).optional(),
  })
  .prefault({});
export type EmulatorsSection = z.output<typeof emulatorsSectionSchema>;

/**
 * The emulators the config's venues use, each on its port: an emulator runs only when a
 * venue of its kind has its REST base URL on loopback at the emulator's port (the rule
 * libs/venues' emulatedVenueIds calls EMULATED). A port of 0 is one no venue can name.
 */
export function emulatorsInUse(
  section: EmulatorsSection,
  venues: Readonly<Record<string, unknown>>,
): Partial<Record<RehearsalVenue, number>> {
  const used: Partial<Record<RehearsalVenue, number>> = {};
  // Every `<venue kind>: { port }` entry of the section names one emulator.
  for (const [kind, entry] of Object.entries(section)) {
    const at = (entry as { port?: unknown } | undefined)?.port;
    if (typeof at !== 'number' || at === 0) continue;
    const traded = Object.values(venues).some((venue) => {
      const { kind: venueKind, baseUrl } = (venue ?? {}) as { kind?: unknown; baseUrl?: unknown };
      return venueKind === kind && loopbackPort(baseUrl) === at;
    });
    if (traded) used[kind as RehearsalVenue] = at;
  }
  return used;
}

export function emulatorsComponent(
  section: EmulatorsSection,
  venues: Readonly<Record<string, unknown>>,
  logger: Logger,
): ServiceComponent {
  let running: RunningEmulatorSet | undefined;
  return {
    name: 'emulators',
    start: async () => {
      const ports = emulatorsInUse(section, venues);
      const { EMULATOR_CREDENTIALS, startEmulators } = await import('@perpmesh/emulators');
      running = await startEmulators({ seed: section.seed, ports });
      // Only where the config does not say otherwise: an operator's own value wins.
      for (const [name, value] of Object.entries(EMULATOR_CREDENTIALS)) {
        process.env[name] ??= value;
      }
      const emulated = Object.keys(running.venues);
      if (emulated.length === 0) {
        logger.warn('emulators.start is true but no configured venue uses an emulator: none started');
        return;
      }
      const urls = Object.fromEntries(Object.entries(running.venues).map(([id, at]) => [id, at.url]));
      logger.info(
        {
          emulated,
          ...urls,
          ...(running.venues.hyperliquid ? { wallet: running.hyperliquidWallet } : {}),
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
