import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emulatedVenueIds, emulatorPorts } from './emulated-venues.js';
import { emulatorsSectionSchema } from './emulators.js';
import { emulatedNote } from './start.js';

const venues = {
  binanceusdm: { kind: 'binanceusdm', baseUrl: 'http://127.0.0.1:4100', wsUrl: 'ws://127.0.0.1:4100/ws' },
  hyperliquid: { kind: 'hyperliquid', baseUrl: 'http://localhost:4200' },
  okx: { kind: 'okx', baseUrl: 'https://www.okx.com' },
  // Loopback, but no emulator of ours there (a local proxy to a real venue): not emulated.
  proxied: { kind: 'binanceusdm', baseUrl: 'http://127.0.0.1:8443' },
  // An emulator's port on another host: not ours.
  remote: { kind: 'binanceusdm', baseUrl: 'http://10.0.0.5:4100' },
  paper: { kind: 'paper' },
};

describe('which venues are emulated', () => {
  test('a venue whose base URL is a loopback address at a started emulator port, nothing else', () => {
    const section = emulatorsSectionSchema.parse({ start: true });
    assert.deepEqual(emulatorPorts(section).sort(), [4100, 4200]);
    assert.deepEqual(emulatedVenueIds(venues, emulatorPorts(section)), ['binanceusdm', 'hyperliquid']);
  });

  test('no emulators started: no venue is emulated, whatever its URL', () => {
    const section = emulatorsSectionSchema.parse({ start: false });
    assert.deepEqual(emulatorPorts(section), []);
    assert.deepEqual(emulatedVenueIds(venues, emulatorPorts(section)), []);
  });

  test('an emulator moved to another port takes its venue with it only when the URL follows', () => {
    const section = emulatorsSectionSchema.parse({ start: true, binanceusdm: { port: 4101 } });
    assert.deepEqual(emulatedVenueIds(venues, emulatorPorts(section)), ['hyperliquid']);
  });

  test('a venue flagged `emulated: true` on loopback is emulated without an emulator started here', () => {
    const flagged = {
      ...venues,
      lighter: { kind: 'lighter', baseUrl: 'http://127.0.0.1:4300', emulated: true },
      // The config refuses the flag off loopback; the rule does not take it either.
      far: { kind: 'lighter', baseUrl: 'http://10.0.0.5:4300', emulated: true },
    };
    assert.deepEqual(emulatedVenueIds(flagged), ['lighter']);
    const section = emulatorsSectionSchema.parse({ start: true });
    assert.deepEqual(emulatedVenueIds(flagged, emulatorPorts(section)), [
      'binanceusdm',
      'hyperliquid',
      'lighter',
    ]);
  });

  test('the ready line names the emulated venues, and says nothing when there are none', () => {
    assert.equal(emulatedNote([]), '');
    assert.equal(
      emulatedNote(['binanceusdm', 'hyperliquid']),
      '; EMULATED venues (local emulators, simulated money): binanceusdm, hyperliquid',
    );
  });
});
