/**
 * An Extended-like simulated venue: the sim's `paper-extended` preset (VENUES.md: 0% maker /
 * 0.025% taker, hourly funding clamp(P/8, ±cap), 50x BTC, USDC collateral), under the venue
 * id the emulator serves.
 */
import { type VenueConfig, type VenueConfigInput, venuePreset } from '@perpmesh/sim';

/** `overrides`: sim settings beyond the preset (a test's fast funding, fees). */
export function extendedSimConfig(venueId = 'extended', overrides: VenueConfigInput = {}): VenueConfig {
  return venuePreset('paper-extended', { ...overrides, venueId });
}
