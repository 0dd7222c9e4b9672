/** Which venues are EMULATED: the rule lives with the venue config (libs/venues emulated-venues.ts). */
export { emulatedVenueIds, emulatorPorts } from '@perpmesh/venues';
